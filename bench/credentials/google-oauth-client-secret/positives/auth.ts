GoogleProvider({
  clientId: process.env.GOOGLE_ID!,
  clientSecret: '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',
});
