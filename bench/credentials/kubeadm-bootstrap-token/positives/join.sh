#!/bin/sh
kubeadm join 10.0.0.10:6443 --token lv4z4c.bhr1vuubrbpup7m9 \
  --discovery-token-ca-cert-hash sha256:3c9355f99f76cdacdbf6fbc7ef0364050e5844187890de59e04dcc22435ca2e2
