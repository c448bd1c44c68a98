"""Realistic marketplace traffic: users, sessions and funnels, deterministic for a seed.

Clients post projects and search for freelancers; freelancers search projects, bid, and build
portfolios. Sessions follow a daily rhythm (quiet nights, a late-morning and an evening peak,
lighter weekends) and each user's own activity level (a few heavy users, a long tail). Sessions
run in time order over one shared marketplace, so the funnel holds across users:

    search.performed -> profile.viewed -> proposal.submitted -> milestone.approved
                     -> payment.initiated -> payment.completed -> review.posted

with plausible drop-off at each step. Every id (event ids included) comes from the seeded
generator, so the same seed and end time give the same events, and writing them twice stores
them once.
"""

from __future__ import annotations

import heapq
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from platform_events.events import Event

# Relative traffic per hour of day (UTC), and per weekday (Monday first).
HOURLY_WEIGHTS = (
    0.15, 0.1, 0.08, 0.07, 0.08, 0.15, 0.35, 0.6, 0.85, 1.0, 1.1, 1.15,
    1.0, 0.95, 1.0, 1.05, 1.0, 0.95, 1.0, 1.15, 1.2, 1.0, 0.6, 0.3,
)  # fmt: skip
WEEKDAY_WEIGHTS = (1.0, 1.05, 1.05, 1.0, 0.9, 0.55, 0.5)

USER_AGENTS: tuple[tuple[str, float], ...] = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36", 0.32),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15", 0.18),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 0.05),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 0.2),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36", 0.17),
    ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 0.08),
)  # fmt: skip
COUNTRIES = (("US", 0.34), ("GB", 0.1), ("DE", 0.08), ("IN", 0.14), ("FR", 0.06), ("BR", 0.07),
             ("PH", 0.07), ("UA", 0.05), ("PK", 0.05), ("CA", 0.04))  # fmt: skip
CATEGORIES = ("web development", "design", "writing", "marketing", "data", "mobile", "devops")
SKILLS = {
    "web development": ("python", "django", "react", "typescript", "node"),
    "design": ("figma", "logo design", "illustration", "ui design"),
    "writing": ("copywriting", "seo writing", "technical writing"),
    "marketing": ("google ads", "seo", "social media"),
    "data": ("sql", "pandas", "dbt", "power bi"),
    "mobile": ("swift", "kotlin", "flutter"),
    "devops": ("terraform", "kubernetes", "aws", "gcp"),
}
PAGES = ("/", "/search", "/projects", "/messages", "/dashboard", "/settings", "/pricing")


@dataclass
class User:
    user_id: str
    role: str  # "client" or "freelancer"
    activity: float  # expected sessions per day
    user_agent: str
    country: str
    mfa: bool


@dataclass
class Project:
    project_id: str
    client_id: str
    category: str
    budget: float
    proposals: list[tuple[str, str, float]] = field(default_factory=list)  # (id, freelancer, bid)
    hired: tuple[str, float] | None = None  # (freelancer, amount)
    milestones_left: int = 0
    reviewed: bool = False


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


class Marketplace:
    """The simulated marketplace: its users, open projects, and the events their sessions make."""

    def __init__(self, users: int, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - simulated traffic, not security
        self.users = [self._user(n) for n in range(users)]
        self.open_projects: list[Project] = []
        self.hired_projects: list[Project] = []
        self.projects_by_client: dict[str, list[Project]] = {}
        self.freelancers = [u.user_id for u in self.users if u.role == "freelancer"] or ["user_0"]

    def _user(self, n: int) -> User:
        rng = self.rng
        return User(
            user_id=f"user_{n:06d}",
            role="client" if rng.random() < 0.3 else "freelancer",
            # Long tail: most users visit every few days, a few several times a day.
            activity=min(6.0, rng.lognormvariate(math.log(0.45), 0.9)),
            user_agent=_weighted(rng, USER_AGENTS),
            country=_weighted(rng, COUNTRIES),
            mfa=rng.random() < 0.25,
        )

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self.rng.getrandbits(48):012x}"

    def new_uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


class _Session:
    """Builds the events of one session, advancing a clock by plausible think times."""

    def __init__(self, market: Marketplace, user: User, start: datetime) -> None:
        self.market = market
        self.rng = market.rng
        self.user = user
        self.clock = start
        self.session_id = str(market.new_uuid())
        self.metadata = {
            "source": "traffic",
            "user_agent": user.user_agent,
            "geo": {"country": user.country},
        }
        self.events: list[Event] = []

    def emit(self, event_type: str, data: dict[str, Any], think: float = 25.0) -> None:
        self.clock += timedelta(seconds=self.rng.expovariate(1 / think))
        self.events.append(
            Event(
                event_type=event_type,
                event_data=data,
                user_id=self.user.user_id,
                session_id=self.session_id,
                metadata=self.metadata,
                occurred_at=self.clock,
                event_id=self.market.new_uuid(),
            )
        )

    def page(self, path: str) -> None:
        title = path.strip("/").split("/")[0].title() or "Home"
        self.emit("page.viewed", {"path": path, "title": title}, 8)

    def run(self) -> list[Event]:
        rng = self.rng
        self.emit("session.started", {"landing_page": rng.choice(PAGES)}, 1)
        if rng.random() < 0.75:
            ok = rng.random() > 0.03
            method = rng.choices(["password", "oauth", "sso", "magic_link"], [50, 35, 5, 10])[0]
            self.emit("user.login", {"method": method, "success": ok, "mfa_used": self.user.mfa}, 5)
            if not ok:
                self.emit(
                    "user.login", {"method": method, "success": True, "mfa_used": self.user.mfa}, 20
                )
        if self.user.role == "client":
            self.client_actions()
        else:
            self.freelancer_actions()
        self.occasional_account_events()
        if rng.random() < 0.2:
            self.emit("notification.clicked", {
                "notification_id": self.market.new_id("ntf"),
                "notification_type": rng.choice(["proposal", "message", "payment", "review"]),
                "channel": rng.choice(["email", "push", "in_app"]),
            })  # fmt: skip
        ending = rng.random()
        if ending < 0.35:
            self.emit("user.logout", {"reason": "user"}, 30)
        elif ending < 0.45:
            self.emit("user.logout", {"reason": "timeout"}, 1800)
        return self.events

    def search(self, kind: str) -> str:
        rng = self.rng
        category = rng.choice(CATEGORIES)
        query = rng.choice(SKILLS[category])
        filters: dict[str, Any] = {"kind": kind, "category": category}
        if rng.random() < 0.4:
            value = rng.choice(["<500", "500-2000", "2000+"])
            self.emit("filter.applied", {"filter_name": "budget", "filter_value": value}, 6)
            filters["budget"] = value
        self.emit("search.performed", {
            "query": query,
            "results_count": max(0, int(rng.gauss(60, 40))),
            "filters": filters,
            "search_time_ms": round(rng.lognormvariate(3.5, 0.5), 1),
        }, 12)  # fmt: skip
        return category

    def client_actions(self) -> None:
        rng, market, user = self.rng, self.market, self.user
        mine = market.projects_by_client.setdefault(user.user_id, [])
        if not any(p.hired is None for p in mine) and rng.random() < 0.35:
            category = rng.choice(CATEGORIES)
            project = Project(
                market.new_id("prj"), user.user_id, category, round(rng.lognormvariate(6.5, 0.9), 2)
            )
            self.page("/projects")
            self.emit("project.created", {
                "project_id": project.project_id,
                "title": f"{rng.choice(SKILLS[category]).title()} {rng.choice(['project', 'help needed', 'expert wanted', 'MVP'])}",
                "budget": project.budget,
                "currency": "USD",
                "category": category,
                "skills": rng.sample(SKILLS[category], k=min(2, len(SKILLS[category]))),
            }, 90)  # fmt: skip
            mine.append(project)
            market.open_projects.append(project)
        # Funnel head: search for freelancers, view a few profiles.
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            self.search("freelancers")
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                self.emit(
                    "profile.viewed",
                    {"profile_id": rng.choice(market.freelancers), "source": "search"},
                    30,
                )
        if rng.random() < 0.3:
            self.emit("message.sent", {
                "message_id": market.new_id("msg"),
                "conversation_id": market.new_id("cnv"),
                "recipient_id": rng.choice(market.freelancers),
                "length": int(rng.lognormvariate(4.5, 0.8)),
            })  # fmt: skip
        for project in mine:
            self.advance(project)

    def advance(self, project: Project) -> None:
        """Hire from the proposals, approve milestones, pay, review: each with drop-off."""
        rng, market = self.rng, self.market
        if project.hired is None and project.proposals and rng.random() < 0.45:
            _, freelancer, bid = rng.choice(project.proposals)
            self.emit("profile.viewed", {"profile_id": freelancer, "source": "proposal"}, 40)
            project.hired = (freelancer, bid)
            project.milestones_left = rng.choice([1, 1, 2, 3])
            if project in market.open_projects:
                market.open_projects.remove(project)
        elif project.hired is not None and project.milestones_left > 0 and rng.random() < 0.5:
            freelancer, bid = project.hired
            amount = round(bid / max(project.milestones_left, 1), 2)
            payment = market.new_id("pay")
            self.emit("milestone.approved", {
                "milestone_id": market.new_id("mst"), "project_id": project.project_id,
                "amount": amount, "currency": "USD", "freelancer_id": freelancer,
            }, 60)  # fmt: skip
            method = rng.choices(["card", "bank_transfer", "paypal", "wallet"], [60, 15, 20, 5])[0]
            self.emit("payment.initiated", {
                "payment_id": payment, "amount": amount, "currency": "USD",
                "project_id": project.project_id, "method": method,
            }, 20)  # fmt: skip
            if rng.random() < 0.97:  # a few payments fail and never complete
                self.emit("payment.completed", {
                    "payment_id": payment, "amount": amount, "currency": "USD",
                    "project_id": project.project_id, "fee": round(amount * 0.1, 2),
                }, 5)  # fmt: skip
            project.milestones_left -= 1
        elif (
            project.hired is not None
            and project.milestones_left == 0
            and not project.reviewed
            and rng.random() < 0.6
        ):
            project.reviewed = True
            self.emit("review.posted", {
                "review_id": market.new_id("rev"), "project_id": project.project_id,
                "rating": rng.choices([1, 2, 3, 4, 5], [2, 3, 8, 30, 57])[0],
                "reviewee_id": project.hired[0],
            }, 120)  # fmt: skip

    def freelancer_actions(self) -> None:
        rng, market = self.rng, self.market
        for _ in range(rng.choice([1, 1, 2, 3])):
            category = self.search("projects")
            candidates = [p for p in market.open_projects[-200:] if p.category == category]
            for project in rng.sample(candidates, k=min(len(candidates), rng.choice([0, 1, 2]))):
                self.page(f"/projects/{project.project_id}")
                if rng.random() < 0.35 and len(project.proposals) < 25:
                    proposal_id = market.new_id("prp")
                    bid = round(project.budget * rng.uniform(0.6, 1.2), 2)
                    self.emit("proposal.submitted", {
                        "proposal_id": proposal_id, "project_id": project.project_id,
                        "bid_amount": bid, "currency": "USD",
                        "delivery_days": rng.randint(2, 45), "client_id": project.client_id,
                    }, 240)  # fmt: skip
                    project.proposals.append((proposal_id, self.user.user_id, bid))
        if rng.random() < 0.04:
            self.emit("portfolio.created", {
                "portfolio_id": market.new_id("pf"),
                "title": f"{rng.choice(CATEGORIES).title()} case study",
                "media_count": rng.randint(1, 12),
            }, 300)  # fmt: skip

    def occasional_account_events(self) -> None:
        rng = self.rng
        if rng.random() < 0.05:
            fields = rng.sample(
                ["bio", "hourly_rate", "skills", "photo", "title"], k=rng.randint(1, 3)
            )
            self.emit("profile.updated", {"fields_changed": fields}, 60)
        if rng.random() < 0.005:
            self.emit("password.changed", {"method": rng.choice(["settings", "reset"])}, 60)
        if not self.user.mfa and rng.random() < 0.003:
            self.user.mfa = True
            self.emit("mfa.enabled", {"method": rng.choice(["totp", "sms", "webauthn"])}, 60)


def _session_starts(
    market: Marketplace, user: User, start: datetime, days: int
) -> Iterator[datetime]:
    rng = market.rng
    peak = max(HOURLY_WEIGHTS) * max(WEEKDAY_WEIGHTS)
    for day in range(days):
        midnight = start + timedelta(days=day)
        # Thinning: draw candidate sessions, keep each with the weight of its hour and weekday.
        candidates = _poisson(rng, user.activity * 1.8)
        for _ in range(candidates):
            at = midnight + timedelta(seconds=rng.uniform(0, 86_400))
            weight = HOURLY_WEIGHTS[at.hour] * WEEKDAY_WEIGHTS[at.weekday()]
            if rng.random() < weight / peak:
                yield at


def _poisson(rng: random.Random, mean: float) -> int:
    threshold, count, product = math.exp(-mean), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def generate(
    users: int, days: int, *, seed: int = 7, end: datetime | None = None
) -> Iterator[Event]:
    """Events of ``users`` users over the ``days`` days before ``end``, session by session.

    Sessions are played in time order over one marketplace (so proposals follow projects and
    payments follow hires); events come out in session-start order.
    """
    if users < 1 or days < 1:
        raise ValueError("users and days must be at least 1")
    end = (end or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    start = (end - timedelta(days=days)).replace(hour=0)
    market = Marketplace(users, seed)
    starts: list[tuple[datetime, int]] = []
    for index, user in enumerate(market.users):
        starts.extend((at, index) for at in _session_starts(market, user, start, days))
    heapq.heapify(starts)
    horizon = end + timedelta(hours=1)  # a session may run a little past the end, not further
    while starts:
        at, index = heapq.heappop(starts)
        if at >= end:
            continue
        for event in _Session(market, market.users[index], at).run():
            if event.occurred_at < horizon:
                yield event
