const jwt = require('jsonwebtoken');

function issue(user) {
  return jwt.sign({ sub: user.id }, 'Q-7BRqtgc-jyOaTWA0pV5kw4OltDrZypxKdMBlPu', { expiresIn: '1h' });
}
