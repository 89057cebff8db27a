#!/bin/sh
git clone https://x-access-token:ghs_0gU8rxrJYmyKurMDehHnL2Y66fxjM02OKHz9@github.com/acme/infra.git /src/infra
