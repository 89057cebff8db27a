Rails.application.configure do
  config.action_mailer.delivery_method = :postmark
  config.action_mailer.postmark_settings = { api_token: "187a5058-e043-462a-bbf0-b5f6d9df3267" }
end
