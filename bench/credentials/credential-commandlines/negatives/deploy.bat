@echo off
PsExec.exe \\%TARGET% -u %DEPLOY_USER% -p %DEPLOY_PASS% cmd /c install.cmd
