kubeadm join 10.0.0.10:6443 --token gz052.e04jwnclo1mx
