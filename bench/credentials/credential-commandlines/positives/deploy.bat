@echo off
PsExec.exe \\10.0.94.120 -u CORP\svc_deploy -p .X7Boz0fGUbTBD -h cmd /c C:\deploy\install.cmd
