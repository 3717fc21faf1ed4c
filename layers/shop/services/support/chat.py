"""One chat turn: throttle, find the conversation, ask the model (or the offline helper), store.

A turn never fails because of the model: no key, an error, a timeout or a model that will not
stop calling tools all end in the offline assistant's answer. What is stored and returned is
the checked, plain-text reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from shop.behavior import record_event
from shop.coltypes import utcnow
from shop.errors import Unavailable
from shop.logging import get_logger, log_failure
from shop.services.support import conversations, offline, ratelimit
from shop.services.support.deadline import Deadline
from shop.services.support.history import HistoryMessage, fit_to_budget
from shop.services.support.openai_chat import AssistantUnavailable, answer_with_openai, api_key
from shop.services.support.policies import shop_policies
from shop.services.support.prompt import INSTRUCTIONS, PROMPT_CANARY, build_system_prompt
from shop.services.support.replies import safe_reply
from shop.services.support.tools import ToolContext
from shop.settings import get_settings
from shop.tokens import Principal


@dataclass(frozen=True)
class ChatTurn:
    conversation_id: str
    reply: str
    model: str
    tools_used: list[str]


def _ask_model(
    ctx: ToolContext,
    session: Session,
    principal: Principal | None,
    message: str,
    deadline: Deadline,
    recent: list[HistoryMessage],
) -> tuple[str, str] | None:
    """The model's (reply, model name), or None when the offline assistant must answer."""
    if api_key() is None:
        return None
    settings = get_settings()
    try:
        prompt = build_system_prompt(session, principal)
        history = fit_to_budget(recent, settings.support_history_token_budget)
        answer = answer_with_openai(
            ctx, system_prompt=prompt.text, history=history, message=message, deadline=deadline
        )
    except SQLAlchemyError:
        raise  # the database is the problem, not the model: no offline answer can help
    except AssistantUnavailable as exc:
        get_logger().warning("support assistant offline for this turn", extra={"why": str(exc)})
        return None
    except Exception:  # a model or client surprise must not cost the customer an answer
        get_logger().exception("support assistant failed; answering offline")
        return None
    return answer.text, answer.model


def _answer_offline(ctx: ToolContext, message: str) -> str:
    """The offline assistant's answer; should even it fail, the shop's contact details."""
    try:
        return offline.answer_offline(ctx, message)
    except SQLAlchemyError:
        raise
    except Exception:
        get_logger().exception("offline support assistant failed")
        return f"{shop_policies().contact}\n\n{offline.OFFLINE_NOTE}"


def answer_chat(
    session: Session,
    *,
    principal: Principal | None,
    message: str,
    conversation_id: str | None,
    client_address: str,
    deadline: Deadline,
) -> ChatTurn:
    """Answer one customer message and store both sides of the exchange (one commit).

    A database failure is Unavailable (503): the one thing no fallback can answer around.
    """
    try:
        return _answer_chat(session, principal, message, conversation_id, client_address, deadline)
    except SQLAlchemyError as exc:
        session.rollback()
        log_failure(get_logger(), "support chat could not use its database", exc)
        raise Unavailable("The support chat is unavailable right now; please try again.") from exc


def _answer_chat(
    session: Session,
    principal: Principal | None,
    message: str,
    conversation_id: str | None,
    client_address: str,
    deadline: Deadline,
) -> ChatTurn:
    ratelimit.count_chat_request(session, principal, client_address)
    asked_at = utcnow()
    conversation, recent = conversations.open_for_chat(session, conversation_id, principal, message)
    ctx = ToolContext(session=session, principal=principal, conversation_id=conversation.id)
    answered = _ask_model(ctx, session, principal, message, deadline, recent)
    text, model = answered or (_answer_offline(ctx, message), offline.MODEL_NAME)
    key = api_key()
    reply = safe_reply(
        text, secrets=[key] if key else [], canary=PROMPT_CANARY, instructions=INSTRUCTIONS
    )
    conversations.record_exchange(
        session,
        conversation,
        question=message,
        asked_at=asked_at,
        reply=reply,
        model=model,
        tools_used=list(ctx.used),
    )
    record_event(
        session,
        "support_message",
        user_id=principal.user_id if principal else None,
        payload={
            "conversation_id": conversation.id,
            "model": model,
            "tools": list(ctx.used),
            "length": len(message),
        },
    )
    session.commit()
    return ChatTurn(
        conversation_id=conversation.id, reply=reply, model=model, tools_used=list(ctx.used)
    )
