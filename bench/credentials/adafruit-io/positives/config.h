#define IO_USERNAME  "greenhouse_lab"
#define IO_KEY       "aio_PmvfIkU0Q5Eh2TweAHe2B1kQE0Ui"
#include "AdafruitIO_WiFi.h"
