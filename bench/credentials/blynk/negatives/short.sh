curl "https://blynk.cloud/external/api/get?token=JuUQd3mTnqKN&V1"
