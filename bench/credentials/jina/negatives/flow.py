from jina import Flow, Executor

f = Flow().add(uses='jinaai://jina-ai/jina_embeddings_v3_executor_for_text_search')
