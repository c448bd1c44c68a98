"""Typed ``track_*`` helpers, one per catalogue event type (the seed's AnalyticsService methods).

Each builds the payload with the catalogue's field names and calls ``emit_event``; extra keyword
arguments go into the payload as additional properties (the schemas allow them). Each calls
``_track``, which :class:`Analytics` implements with ``emit_event``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any


def _data(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


class TrackingMixin:
    """Mixed into :class:`Analytics`; every method returns the event id."""

    def _track(self, event_type: str, event_data: dict[str, Any]) -> uuid.UUID:
        """Emit with the current user and session; :class:`Analytics` provides it."""
        raise NotImplementedError

    # -- transactions ---------------------------------------------------------------------
    def track_project_created(
        self,
        project_id: str,
        title: str,
        budget: float,
        currency: str = "USD",
        *,
        category: str | None = None,
        skills: Sequence[str] | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(
            project_id=project_id,
            title=title,
            budget=budget,
            currency=currency,
            category=category,
            skills=list(skills) if skills is not None else None,
        )
        return self._track("project.created", {**data, **extra})

    def track_proposal_submitted(
        self,
        proposal_id: str,
        project_id: str,
        bid_amount: float,
        currency: str = "USD",
        *,
        delivery_days: int | None = None,
        client_id: str | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(
            proposal_id=proposal_id,
            project_id=project_id,
            bid_amount=bid_amount,
            currency=currency,
            delivery_days=delivery_days,
            client_id=client_id,
        )
        return self._track("proposal.submitted", {**data, **extra})

    def track_milestone_approved(
        self,
        milestone_id: str,
        project_id: str,
        amount: float,
        currency: str = "USD",
        *,
        freelancer_id: str | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(
            milestone_id=milestone_id,
            project_id=project_id,
            amount=amount,
            currency=currency,
            freelancer_id=freelancer_id,
        )
        return self._track("milestone.approved", {**data, **extra})

    def track_payment_initiated(
        self,
        payment_id: str,
        amount: float,
        currency: str = "USD",
        *,
        project_id: str | None = None,
        method: str | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(
            payment_id=payment_id,
            amount=amount,
            currency=currency,
            project_id=project_id,
            method=method,
        )
        return self._track("payment.initiated", {**data, **extra})

    def track_payment_completed(
        self,
        payment_id: str,
        amount: float,
        currency: str = "USD",
        *,
        project_id: str | None = None,
        fee: float | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(
            payment_id=payment_id, amount=amount, currency=currency, project_id=project_id, fee=fee
        )
        return self._track("payment.completed", {**data, **extra})

    # -- interactions ---------------------------------------------------------------------
    def track_profile_viewed(
        self, profile_id: str, source: str | None = None, **extra: Any
    ) -> uuid.UUID:
        return self._track(
            "profile.viewed", {**_data(profile_id=profile_id, source=source), **extra}
        )

    def track_search_performed(
        self,
        query: str,
        results_count: int,
        *,
        filters: dict[str, Any] | None = None,
        search_time_ms: float | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(
            query=query, results_count=results_count, filters=filters, search_time_ms=search_time_ms
        )
        return self._track("search.performed", {**data, **extra})

    def track_filter_applied(self, filter_name: str, filter_value: str, **extra: Any) -> uuid.UUID:
        data = _data(filter_name=filter_name, filter_value=filter_value)
        return self._track("filter.applied", {**data, **extra})

    def track_message_sent(
        self,
        message_id: str,
        conversation_id: str,
        *,
        recipient_id: str | None = None,
        length: int | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(
            message_id=message_id,
            conversation_id=conversation_id,
            recipient_id=recipient_id,
            length=length,
        )
        return self._track("message.sent", {**data, **extra})

    def track_notification_clicked(
        self,
        notification_id: str,
        notification_type: str,
        channel: str | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(
            notification_id=notification_id, notification_type=notification_type, channel=channel
        )
        return self._track("notification.clicked", {**data, **extra})

    # -- user activity --------------------------------------------------------------------
    def track_user_login(
        self,
        method: str,
        *,
        success: bool | None = True,
        mfa_used: bool | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(method=method, success=success, mfa_used=mfa_used)
        return self._track("user.login", {**data, **extra})

    def track_user_logout(self, reason: str | None = "user", **extra: Any) -> uuid.UUID:
        return self._track("user.logout", {**_data(reason=reason), **extra})

    def track_session_started(
        self,
        *,
        referrer: str | None = None,
        landing_page: str | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(referrer=referrer, landing_page=landing_page)
        return self._track("session.started", {**data, **extra})

    def track_password_changed(self, method: str | None = "settings", **extra: Any) -> uuid.UUID:
        return self._track("password.changed", {**_data(method=method), **extra})

    def track_mfa_enabled(self, method: str, **extra: Any) -> uuid.UUID:
        return self._track("mfa.enabled", {**_data(method=method), **extra})

    # -- content --------------------------------------------------------------------------
    def track_review_posted(
        self,
        review_id: str,
        project_id: str,
        rating: int,
        *,
        reviewee_id: str | None = None,
        comment: str | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(
            review_id=review_id,
            project_id=project_id,
            rating=rating,
            reviewee_id=reviewee_id,
            comment=comment,
        )
        return self._track("review.posted", {**data, **extra})

    def track_portfolio_created(
        self,
        portfolio_id: str,
        title: str,
        *,
        media_count: int | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(portfolio_id=portfolio_id, title=title, media_count=media_count)
        return self._track("portfolio.created", {**data, **extra})

    def track_profile_updated(self, fields_changed: Sequence[str], **extra: Any) -> uuid.UUID:
        return self._track("profile.updated", {"fields_changed": list(fields_changed), **extra})

    # -- Segment's identify and page ------------------------------------------------------
    def track_user_identified(
        self, traits: dict[str, Any] | None = None, **extra: Any
    ) -> uuid.UUID:
        return self._track("user.identified", {"traits": dict(traits or {}), **extra})

    def track_page_viewed(
        self,
        path: str,
        *,
        name: str | None = None,
        title: str | None = None,
        url: str | None = None,
        referrer: str | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        data = _data(path=path, name=name, title=title, url=url, referrer=referrer)
        return self._track("page.viewed", {**data, **extra})
