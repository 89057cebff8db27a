#!/bin/sh
az login --service-principal -u 845be4a9-ef73-446b-9f32-edbec22a42eb -p 'zKO8Q~r.-H5y7-Es7umASVBAklpUBsj-rPtBs~Af' --tenant 08254d6b-6a62-405c-b501-bf10aa54eb7a
