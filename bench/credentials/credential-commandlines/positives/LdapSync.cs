using System.DirectoryServices;

var root = new DirectoryEntry("LDAP://dc01.corp.local/DC=corp,DC=local", "CORP\\svc_ldap", "1XtXHbVi*_8@ll");
