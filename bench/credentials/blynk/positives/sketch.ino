#define BLYNK_TEMPLATE_ID "TMPLyioaZL9d"
#define BLYNK_TEMPLATE_NAME "Greenhouse"
#define BLYNK_AUTH_TOKEN "AkM703Za9F5b4yDVr9GdEbZAKNXEcxgR"
#include <BlynkSimpleEsp32.h>

void setup() { Blynk.begin(BLYNK_AUTH_TOKEN, "lab", "wifi-pass"); }
