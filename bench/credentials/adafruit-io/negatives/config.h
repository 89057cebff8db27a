#define IO_USERNAME  "your_username"
#define IO_KEY       "your_key"
