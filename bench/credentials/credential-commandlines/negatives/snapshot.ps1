$cred = Get-Credential
Connect-VIServer -Server $vc -Credential $cred
