git clone https://x:ghp_mIf2LzqY841Kvy5YcVVTKWZC6iC2I83ddn2A@github.com/acme/api.git
