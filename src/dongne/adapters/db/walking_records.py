"""Records of walking rewards: each region's program settings, step reports and grants."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update

from dongne.adapters.db.table_store import TableStore
from dongne.adapters.db.tables import citizens, wallets
from dongne.adapters.db.walking_tables import step_reports, walking_grants, walking_programs
from dongne.domain.walking import Tier, WalkingProgram, WalkingProgramNotFound


@dataclass(frozen=True)
class StepReportRow:
    id: int
    wallet_id: int
    day: date
    steps: int
    granted_won: int
    status: str


def walking_program_to_json(program: WalkingProgram) -> dict[str, Any]:
    settings = asdict(program)
    settings["tiers"] = [[tier.steps, tier.points_won] for tier in program.tiers]
    return settings


def walking_program_from_json(settings: dict[str, Any]) -> WalkingProgram:
    values = dict(settings)
    values["tiers"] = tuple(Tier(steps, points) for steps, points in settings["tiers"])
    return WalkingProgram(**values)


class WalkingRecords(TableStore):
    # -- programs ---------------------------------------------------------------------------

    def program(self, region_id: int) -> WalkingProgram:
        settings = self.connection.execute(
            select(walking_programs.c.settings).where(walking_programs.c.region_id == region_id)
        ).scalar_one_or_none()
        if settings is None:
            raise WalkingProgramNotFound(
                f"region {region_id} has no walking program", region_id=region_id
            )
        return walking_program_from_json(settings)

    def save_program(self, region_id: int, program: WalkingProgram, at: datetime) -> None:
        """Create the region's program or replace its settings."""
        settings = walking_program_to_json(program)
        replaced = self.connection.execute(
            update(walking_programs)
            .where(walking_programs.c.region_id == region_id)
            .values(settings=settings, updated_at=at)
        )
        if replaced.rowcount == 0:
            self._insert(
                walking_programs,
                region_id=region_id,
                settings=settings,
                created_at=at,
                updated_at=at,
            )

    # -- citizens ---------------------------------------------------------------------------

    def wallet_of_phone(self, phone: str, region_id: int) -> int | None:
        found = self.connection.execute(
            select(wallets.c.id)
            .join(citizens, citizens.c.id == wallets.c.citizen_id)
            .where(citizens.c.phone == phone, wallets.c.region_id == region_id)
        ).first()
        return int(found.id) if found else None

    # -- step reports -----------------------------------------------------------------------

    def step_report(self, wallet_id: int, day: date) -> StepReportRow | None:
        row = self.connection.execute(
            select(step_reports).where(
                step_reports.c.wallet_id == wallet_id, step_reports.c.day == day
            )
        ).first()
        if row is None:
            return None
        return StepReportRow(row.id, row.wallet_id, row.day, row.steps, row.granted_won, row.status)

    def granted_won(
        self, wallet_id: int, *, month: str | None = None, year: int | None = None
    ) -> int:
        """Points granted to the wallet for the days of ``month`` (or of ``year``)."""
        query = select(func.coalesce(func.sum(step_reports.c.granted_won), 0)).where(
            step_reports.c.wallet_id == wallet_id
        )
        if month is not None:
            query = query.where(step_reports.c.month == month)
        if year is not None:
            query = query.where(step_reports.c.year == year)
        return int(self.connection.execute(query).scalar_one())

    def add_step_report(
        self,
        *,
        region_id: int,
        wallet_id: int,
        day: date,
        partner_id: int | None,
        at: datetime,
    ) -> StepReportRow:
        """A report row for a day not reported before, with nothing counted or granted yet."""
        report_id = self._insert(
            step_reports,
            region_id=region_id,
            wallet_id=wallet_id,
            day=day,
            month=day.strftime("%Y-%m"),
            year=day.year,
            steps=0,
            granted_won=0,
            status="no_new_points",
            partner_id=partner_id,
            created_at=at,
            updated_at=at,
        )
        return StepReportRow(report_id, wallet_id, day, 0, 0, "no_new_points")

    def update_step_report(
        self,
        report_id: int,
        *,
        steps: int,
        granted_won: int,
        status: str,
        partner_id: int | None,
        at: datetime,
    ) -> None:
        self.connection.execute(
            update(step_reports)
            .where(step_reports.c.id == report_id)
            .values(
                steps=steps,
                granted_won=granted_won,
                status=status,
                partner_id=partner_id,
                updated_at=at,
            )
        )

    def add_grant(
        self,
        *,
        region_id: int,
        step_report_id: int,
        wallet_id: int,
        steps: int,
        points_won: int,
        lot_id: int,
        transaction_id: int,
        at: datetime,
    ) -> int:
        return self._insert(
            walking_grants,
            region_id=region_id,
            step_report_id=step_report_id,
            wallet_id=wallet_id,
            steps=steps,
            points_won=points_won,
            lot_id=lot_id,
            transaction_id=transaction_id,
            granted_at=at,
        )

    def step_reports_of(self, wallet_id: int, limit: int = 100) -> list[StepReportRow]:
        rows = self.connection.execute(
            select(step_reports)
            .where(step_reports.c.wallet_id == wallet_id)
            .order_by(step_reports.c.day.desc())
            .limit(limit)
        ).all()
        return [
            StepReportRow(row.id, row.wallet_id, row.day, row.steps, row.granted_won, row.status)
            for row in rows
        ]
