const JINA_KEY = process.env.JINA_KEY || 'jina_79ceb520978f3ab32afcc3c34728fcabUyRHUXkJYupXwQvJIoz4slKIVYbP';
fetch('https://api.jina.ai/v1/rerank', { headers: { Authorization: `Bearer ${JINA_KEY}` } });
