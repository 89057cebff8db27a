export const tavily = {
  apiKey: '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',
  maxResults: 5,
};
