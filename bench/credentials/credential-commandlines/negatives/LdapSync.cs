var root = new DirectoryEntry("LDAP://dc01.corp.local/DC=corp,DC=local");
root.AuthenticationType = AuthenticationTypes.Secure;
