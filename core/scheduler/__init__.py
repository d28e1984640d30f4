"""Dispatching due tasks: the database row is the truth, APScheduler only the alarm clock."""

from core.scheduler.dispatcher import AttemptRunner, Dispatcher, DispatchReport
from core.scheduler.part import SchedulerPart

__all__ = ["AttemptRunner", "DispatchReport", "Dispatcher", "SchedulerPart"]
