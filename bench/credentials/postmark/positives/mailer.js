const postmark = require('postmark');
const client = new postmark.ServerClient('180a1522-a7f7-4d24-99e2-29624d77457a');
