#!/bin/sh
TOKEN=$(kubeadm token create --ttl 10m)
kubeadm join 10.0.0.10:6443 --token "$TOKEN" --discovery-token-unsafe-skip-ca-verification
