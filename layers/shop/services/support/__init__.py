"""The support assistant: conversations, tools bound to the caller, OpenAI and offline answers.

`shop.services.support.chat.answer_chat` is the entry point; the modules around it each hold
one concern (history, tools, the two assistants, reply safety, rate limits, tickets).
"""
