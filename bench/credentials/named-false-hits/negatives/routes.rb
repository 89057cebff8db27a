Rails.application.routes.draw do
  devise_for :users
  get "/password/reset", to: "passwords#edit", as: :edit_user_password
  post "/password/reset", to: "passwords#update"
end
