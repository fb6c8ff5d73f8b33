"""Conversation memory across connections and invocations: history, run locks, cancel flags.

History is openai-agents' own Session (SQLiteSession, RedisSession); what the SDK has no
notion of — one run per conversation, a cancel raised elsewhere, the last agent — lives
beside it in the same store.
"""
