using System.Net;

var smtp = new SmtpClient("smtp.corp.local", 587);
smtp.Credentials = new NetworkCredential("svc_mailer", "=Yai+*0#SN7Pt#", "CORP");
