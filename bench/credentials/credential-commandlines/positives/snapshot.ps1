Connect-VIServer -Server vcsa01.corp.local -User administrator@vsphere.local -Password 'b__C=8=wA*TmHx'
Get-VM | New-Snapshot -Name nightly
