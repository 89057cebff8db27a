export default class UserSettings {
  constructor() {
    this.addPassword = "#add-password";
    this.removePassword = "#remove-password";
  }
}
