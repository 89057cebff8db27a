'use strict';
// acme-shop storefront API (the application's own code: planted secrets for bench/realcode.sh)
const express = require('express');
const Stripe = require('stripe');
const { WebClient } = require('@slack/web-api');

const stripe = Stripe('sk_live_CXtLW9axBDNlphNfGwvfLOfW');
const slack = new WebClient('xoxb-542323778998-7969380201969-qjmLXbtxYTYuh0jSL29GIw4m');

const app = express();
app.use(express.json());

app.post('/checkout', async (req, res) => {
  const session = await stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: req.body.items,
    success_url: 'https://shop.acme.example/thanks',
  });
  await slack.chat.postMessage({ channel: '#orders', text: `new order ${session.id}` });
  res.json({ url: session.url });
});

app.get('/healthz', (_req, res) => res.send('ok'));

app.listen(process.env.PORT || 8080);
