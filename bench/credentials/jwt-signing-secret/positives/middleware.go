package auth

var jwtKey = []byte("Po4BQarndnYm3I0la547zVMpsp9VN3SgFpum6EgR2lWV")
