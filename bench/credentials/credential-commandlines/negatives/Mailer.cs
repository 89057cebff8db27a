var smtp = new SmtpClient(host, 587);
smtp.Credentials = new NetworkCredential(config["Smtp:User"], config["Smtp:Password"]);
