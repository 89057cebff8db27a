#define BLYNK_TEMPLATE_ID "TMPLxxxxxx"
#define BLYNK_AUTH_TOKEN "YourAuthToken"
