JWT_AUTH = {
    'JWT_SECRET_KEY': 'RMCak*z*tK@Op1e5*LQLOMkB*ZjN*tkfPJVdYkmmp9bh2lmygx',
    'JWT_ALGORITHM': 'HS256',
}
