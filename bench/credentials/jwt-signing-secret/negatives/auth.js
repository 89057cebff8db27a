const jwt = require('jsonwebtoken');
module.exports = (u) => jwt.sign({ sub: u.id }, process.env.JWT_SECRET, { expiresIn: '1h' });
