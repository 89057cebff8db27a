#!/bin/sh
hashcat -m 18200 asrep.txt /usr/share/wordlists/rockyou.txt
hashcat -m 9300 cisco9.txt wordlist.txt
