"""What code written for asyncz imports and relies on, kept working (issue #20)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from inspect import isclass
from typing import Any
from unittest.mock import Mock
from zoneinfo import ZoneInfo

import pytest
import pytz

from asyncz_like import utils
from asyncz_like.enums import SchedulerState, TaskScheduleState
from asyncz_like.exceptions import AsynczException, AsynczLikeError
from asyncz_like.executors.asyncio import AsyncIOExecutor
from asyncz_like.executors.base import BaseExecutor, run_coroutine_task, run_task
from asyncz_like.executors.process_pool import ProcessPoolExecutor
from asyncz_like.schedulers import defaults
from asyncz_like.schedulers.base import BaseScheduler, ClassicLogging
from asyncz_like.stores.base import BaseStore
from asyncz_like.stores.memory import MemoryStore
from asyncz_like.tasks import Task
from asyncz_like.tasks.types import TaskType
from asyncz_like.triggers import DateTrigger, IntervalTrigger
from asyncz_like.triggers.base import BaseTrigger
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler


def _boom() -> None:
    raise RuntimeError("boom")


# -- time zones ---------------------------------------------------------------------------


def test_the_default_zone_is_looked_up_through_utils_get_localzone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    london = pytz.timezone("Europe/London")
    monkeypatch.setattr("asyncz_like.utils.get_localzone", Mock(return_value=london))
    scheduler = ManualScheduler(clock=FakeClock())
    assert scheduler.timezone is london  # pytz kept as given: users call .localize on it


def test_a_pytz_scheduler_zone_still_gives_right_fire_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    london = pytz.timezone("Europe/London")
    monkeypatch.setattr("asyncz_like.utils.get_localzone", Mock(return_value=london))
    scheduler = ManualScheduler(clock=FakeClock(datetime(2026, 7, 1, 10, 0, tzinfo=UTC)))
    task = scheduler.add_task(_boom, "cron", hour=12, minute=0)
    scheduler.start(paused=True)
    assert task.next_run_time == datetime(2026, 7, 1, 11, 0, tzinfo=UTC)  # 12:00 BST
    scheduler.shutdown()


def test_to_timezone_keeps_a_tzinfo_and_names_a_bad_type() -> None:
    london = pytz.timezone("Europe/London")
    assert utils.to_timezone(london) is london
    assert utils.to_zone(london) == ZoneInfo("Europe/London")
    with pytest.raises(TypeError, match="Expected tzinfo, got int instead"):
        utils.to_timezone(4)  # type: ignore[arg-type]


def test_to_datetime_errors_are_asyncz_errors_and_builtin_ones() -> None:
    with pytest.raises(AsynczException, match=r"^Unsupported type for foo: int\.$"):
        utils.to_datetime(92123, "UTC", "foo")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        utils.to_datetime(92123, "UTC", "foo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="argname has no timezone information"):
        utils.to_datetime("2022-8-1", None, "argname")
    assert AsynczException is AsynczLikeError
    assert utils.to_datetime("2022-8-1 5:16:12", "UTC", "at") == datetime(
        2022, 8, 1, 5, 16, 12, tzinfo=UTC
    )
    assert utils.to_datetime("2022-8-1T5:16:12+02:30", None, "at") == datetime(
        2022, 8, 1, 2, 46, 12, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="Invalid date string for at"):
        utils.to_datetime("19700-12-1", "UTC", "at")


# -- utils helpers ------------------------------------------------------------------------


def test_conversion_helpers() -> None:
    assert utils.to_int("539") == 539 and utils.to_int(None) is None
    assert utils.to_float("5.5") == 5.5 and utils.to_float(None) is None
    with pytest.raises(ValueError):
        utils.to_int("5s")
    assert utils.maybe_ref("datetime:timedelta") is timedelta
    assert utils.maybe_ref(timedelta) is timedelta
    assert utils.datetime_ceil(datetime(2022, 4, 7, 2, 10, 16, 4000)) == datetime(
        2022, 4, 7, 2, 10, 17
    )
    assert utils.datetime_ceil(datetime(2022, 4, 7, 2, 10, 16)) == datetime(2022, 4, 7, 2, 10, 16)
    assert utils.timedelta_seconds(timedelta(minutes=2, seconds=30)) == 150
    moment = datetime(2022, 3, 12, 5, 40, 13, 254012, tzinfo=ZoneInfo("Europe/London"))
    assert utils.utc_timestamp_to_datetime(utils.datetime_to_utc_timestamp(moment)) == moment


def test_ref_to_obj_without_a_colon_is_an_asyncz_error() -> None:
    with pytest.raises(AsynczException):
        utils.ref_to_obj("module")


# -- plugin extension points --------------------------------------------------------------


class _UserStore(MemoryStore):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.options = options


class _UserExecutor(BaseExecutor):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)

    def do_send_task(self, task: Task, run_times: list[datetime]) -> None:
        """Runs nothing."""


class _UserTrigger(BaseTrigger):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)

    def get_next_trigger_time(self, timezone: Any, previous_time: Any, now: Any = None) -> None:
        return None


def test_users_plugins_keep_their_options_as_attributes() -> None:
    store = _UserStore(arg1="3", arg2="a")
    assert (store.arg1, store.arg2) == ("3", "a")  # type: ignore[attr-defined]
    assert _UserExecutor(arg="true").arg == "true"  # type: ignore[attr-defined]
    assert _UserTrigger(a=1).a == 1  # type: ignore[attr-defined]


def test_our_own_plugins_still_refuse_unknown_options() -> None:
    with pytest.raises(TypeError, match="MemoryStore got unexpected option"):
        MemoryStore(arg1=3)
    with pytest.raises(TypeError, match="AsyncIOExecutor got unexpected option"):
        AsyncIOExecutor(arg1=3)  # type: ignore[call-arg]


def test_a_class_reference_in_a_config_dict_builds_that_class() -> None:
    scheduler = ManualScheduler(
        clock=FakeClock(),
        stores={"default": {"class": f"{__name__}:_UserStore", "arg1": "3"}},
    )
    store = scheduler.lookup_store("default")
    assert isinstance(store, _UserStore) and store.options == {"arg1": "3"}


def test_a_scheduler_that_only_implements_wakeup_works() -> None:
    class OnlyWakeup(BaseScheduler):
        wakeups = 0

        def wakeup(self) -> None:
            self.wakeups += 1

    scheduler = OnlyWakeup(clock=FakeClock())
    scheduler.start()
    assert scheduler.wakeups == 1 and scheduler.state is SchedulerState.STATE_RUNNING
    scheduler.shutdown()


def test_create_trigger_gives_the_scheduler_zone() -> None:
    scheduler = ManualScheduler(clock=FakeClock(), timezone="Europe/Paris")
    trigger = scheduler.create_trigger("interval", {"seconds": 5})
    assert isinstance(trigger, IntervalTrigger) and trigger.timezone == ZoneInfo("Europe/Paris")
    assert isinstance(scheduler.create_trigger(None, {"run_at": "2030-01-01"}), DateTrigger)
    with pytest.raises(TypeError, match="Expected a trigger instance or string, got 'int'"):
        scheduler.create_trigger(1, {})  # type: ignore[arg-type]


# -- loggers ------------------------------------------------------------------------------


def test_loggers_class_by_class_or_reference() -> None:
    for given in (ClassicLogging, "asyncz_like.schedulers.base:ClassicLogging"):
        scheduler = ManualScheduler(clock=FakeClock(), loggers_class=given)
        assert isinstance(scheduler.loggers, ClassicLogging)
        assert scheduler.logger is logging.getLogger("asyncz_like.schedulers")


def test_a_custom_loggers_class_receives_the_scheduler_logging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Prefixed(dict[str, logging.Logger]):
        def __missing__(self, name: str) -> logging.Logger:
            return logging.getLogger(f"custom.{name}")

    scheduler = ManualScheduler(clock=FakeClock(), loggers_class=Prefixed)
    with caplog.at_level(logging.INFO, logger="custom"):
        scheduler.start(paused=True)
        scheduler.shutdown()
    assert any(record.name == "custom.asyncz_like.schedulers" for record in caplog.records)


# -- modules and names --------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [*defaults.executors.values(), *defaults.stores.values(), *defaults.triggers.values()],
)
def test_the_default_plugin_tables_load(reference: str) -> None:
    assert isclass(BaseScheduler.resolve_load_plugin(reference))


def test_asyncz_names() -> None:
    assert TaskType is Task
    assert TaskScheduleState.PAUSED == "paused"
    assert issubclass(ProcessPoolExecutor, BaseExecutor)
    assert "pending_futures" in dir(AsyncIOExecutor)
    assert repr(MemoryStore()) == "<MemoryStore>"
    store = MemoryStore()
    store.start(ManualScheduler(clock=FakeClock()), "main")
    assert repr(store) == "<MemoryStore>"  # as asyncz: no alias once started either
    assert isinstance(BaseStore, type)


def test_run_task_with_asyncz_signature() -> None:
    task = Task(_boom, DateTrigger("2030-01-01T00:00:00+00:00"), id="x")
    (event,) = run_task(task, "store", [datetime.now(UTC)], logging.getLogger("tests"))
    assert event.task_id == "x" and event.store == "store" and str(event.exception) == "boom"


def test_run_coroutine_task_with_asyncz_signature() -> None:
    async def answer() -> int:
        return 42

    task = Task(answer, DateTrigger("2030-01-01T00:00:00+00:00"), id="y")
    (event,) = asyncio.run(run_coroutine_task(task, None, [datetime.now(UTC)], "tests"))
    assert event.return_value == 42


# -- tasks --------------------------------------------------------------------------------


def _job() -> None:
    """A module-level function."""


def test_add_task_takes_the_old_fn_keyword_with_a_warning() -> None:
    scheduler = ManualScheduler(clock=FakeClock())
    with pytest.warns(DeprecationWarning, match="renamed to 'fn_or_task'"):
        task = scheduler.add_task(fn=_job, trigger="interval", seconds=5)
    assert isinstance(task, Task) and task.fn is _job


def test_a_task_holds_the_scheduler_it_was_made_with() -> None:
    scheduler = Mock(BaseScheduler)
    task = Task(_job, DateTrigger("2030-01-01T00:00:00+00:00"), scheduler=scheduler)
    assert task.scheduler is scheduler
    task.pause()
    scheduler.pause_task.assert_called_once_with(task.id, None)


def test_task_schedule_state_follows_pending_and_next_run_time() -> None:
    scheduler = ManualScheduler(clock=FakeClock())
    task = scheduler.add_task(_job, "interval", seconds=5)
    assert task.pending and task.schedule_state is TaskScheduleState.PENDING
    scheduler.start()
    assert not task.pending and task.schedule_state is TaskScheduleState.SCHEDULED
    task.pause()
    assert scheduler.get_task(task.id).schedule_state is TaskScheduleState.PAUSED
    scheduler.shutdown()


def test_update_task_changes_the_object_only() -> None:
    task = Task(_job, DateTrigger("2030-01-01T00:00:00+00:00"))
    task.update_task(fn="tests.unit.test_asyncz_compat:_boom", name="renamed")
    assert task.fn is _boom and task.fn_reference == "tests.unit.test_asyncz_compat:_boom"
    assert task.name == "renamed"
    with pytest.raises(ValueError, match="The task scheduler may not be changed"):
        Task(_job, scheduler=Mock(BaseScheduler)).update_task(scheduler=Mock(BaseScheduler))


def test_setstate_takes_asyncz_task_state() -> None:
    from asyncz_like.datastructures import TaskState

    trigger = DateTrigger("2030-01-01T00:00:00+00:00")
    task = Task(_boom, trigger)
    task.__setstate__(
        TaskState(
            id="other",
            name="n",
            fn="tests.unit.test_asyncz_compat:_job",
            fn_reference=None,
            trigger=trigger,
            executor="e",
            args=[],
            kwargs={},
            mistrigger_grace_time=2,
            coalesce=True,
            max_instances=2,
            next_run_time=None,
            store_alias=None,
        )
    )
    assert (task.id, task.fn, task.fn_reference) == (
        "other",
        _job,
        "tests.unit.test_asyncz_compat:_job",
    )
    assert TaskState(id="x").id == "x"


# -- executors under a mocked scheduler ---------------------------------------------------


def _five() -> int:
    return 5


def test_an_executor_runs_for_a_mock_of_basescheduler() -> None:
    """asyncz code starts executors with ``Mock(BaseScheduler)``: no clock, no run slots."""
    from asyncz_like.events.constants import TASK_EXECUTED
    from asyncz_like.executors.debug import DebugExecutor

    scheduler = Mock(BaseScheduler, timezone=UTC)
    events: list[Any] = []
    scheduler.dispatch_event = events.append
    executor = DebugExecutor()
    executor.start(scheduler, "dummy")
    task = Task(_five, DateTrigger(datetime.now(UTC)), id="five")
    executor.send_task(task, [datetime.now(UTC)])
    executor.shutdown()
    assert [(event.code, event.return_value) for event in events] == [(TASK_EXECUTED, 5)]
    assert executor.instances == {}


# -- the scheduler's extension API --------------------------------------------------------


def _scheduler(**options: Any) -> ManualScheduler:
    return ManualScheduler(clock=FakeClock(), timezone="UTC", **options)


def test_stores_and_executors_are_live_tables() -> None:
    from asyncz_like.executors.debug import DebugExecutor

    scheduler = _scheduler()
    extra = MemoryStore()
    scheduler.stores["extra"] = extra
    assert scheduler.lookup_store("extra") is extra
    assert [alias for alias, _ in scheduler.iter_stores()] == ["default", "extra"]
    del scheduler.stores["extra"]
    assert "extra" not in scheduler.stores
    scheduler.executors = {"other": DebugExecutor()}
    assert set(scheduler.executors) == {"other"}
    scheduler.start(paused=True)  # a scheduler without a default executor gets one
    assert set(scheduler.executors) == {"other", "default"}
    scheduler.shutdown()


def test_the_defaults_are_announced_at_start_and_replaceable_before() -> None:
    from asyncz_like.events.constants import (
        EXECUTOR_ADDED,
        SCHEDULER_STARTED,
        STORE_ADDED,
        TASK_ADDED,
    )
    from asyncz_like.executors.debug import DebugExecutor

    scheduler = _scheduler()
    mine = DebugExecutor()
    scheduler.add_executor(mine)  # replaces the default the scheduler made
    with pytest.raises(ValueError, match=r"^This scheduler already has an executor .*'default'\.$"):
        scheduler.add_executor(DebugExecutor())
    codes: list[int] = []
    scheduler.add_listener(lambda event: codes.append(event.code))
    scheduler.add_task(_five, "interval", seconds=1, id="a")
    scheduler.start(paused=True)
    assert scheduler.lookup_executor("default") is mine
    assert codes == [STORE_ADDED, TASK_ADDED, SCHEDULER_STARTED]
    assert not codes.count(EXECUTOR_ADDED)  # the default executor was given, not made
    scheduler.shutdown()


def test_listeners_can_be_read_and_replaced() -> None:
    from asyncz_like.events.base import SchedulerEvent

    scheduler = _scheduler()
    seen: list[Any] = []
    scheduler.listeners = [(seen.append, 1), (Mock(side_effect=RuntimeError), 1)]
    assert [mask for _, mask in scheduler.listeners] == [1, 1]
    event = SchedulerEvent(code=1)
    scheduler.dispatch_event(event)  # a listener that raises is logged, the others called
    assert seen == [event]


def test_setup_hands_the_merged_options_to_underscore_setup() -> None:
    scheduler = _scheduler()
    given: list[Any] = []
    scheduler._setup = given.append  # type: ignore[method-assign]
    scheduler.setup({"asyncz_like.task_defaults.coalesce": "false"}, timezone="UTC")
    assert given == [{"task_defaults": {"coalesce": "false"}, "timezone": "UTC"}]


def test_identity_logger_name_and_task_defaults_dump() -> None:
    first, second = _scheduler(), _scheduler(identity="worker-a")
    assert first.identity.startswith("ManualScheduler-")
    assert first.identity != _scheduler().identity
    assert second.identity == "worker-a"
    assert _scheduler(logger_name="mine").logger_name == "asyncz_like.schedulers.mine"
    assert _scheduler(logger_name="asyncz_like.schedulers.x").logger_name.endswith(".x")
    assert first.task_defaults.model_dump() == {
        "coalesce": True,
        "max_instances": 1,
        "mistrigger_grace_time": 1.0,
    }
    assert utils.to_timezone("UTC") is ZoneInfo("UTC")


def test_create_trigger_reads_the_trigger_tables() -> None:
    scheduler = _scheduler()
    scheduler.trigger_classes = {"mine": _UserTrigger}
    assert isinstance(scheduler.create_trigger("mine", {}), _UserTrigger)
    scheduler.trigger_classes = {}
    scheduler.trigger_plugins = {"mine": f"{__name__}:_UserTrigger", "bad": f"{__name__}:_five"}
    assert isinstance(scheduler.create_trigger("mine", {}), _UserTrigger)
    assert scheduler.trigger_classes["mine"] is _UserTrigger  # loaded once
    with pytest.raises(TypeError, match="does not point to a trigger class"):
        scheduler.create_trigger("bad", {})
    with pytest.raises(LookupError, match="'nothing'"):
        scheduler.create_trigger("nothing", {})


def test_small_asyncz_factories_and_lookup_task() -> None:
    import pickle

    scheduler = _scheduler()
    assert isinstance(scheduler.create_default_store(), MemoryStore)
    with scheduler.create_lock():
        pass
    with pytest.raises(TypeError, match="Schedulers cannot be serialized"):
        pickle.dumps(scheduler)
    task = scheduler.add_task(_five, "interval", seconds=1, id="a")
    assert scheduler.lookup_task("a", None) == (task, None)  # pending: no store yet
    scheduler.start(paused=True)
    assert scheduler.lookup_task("a", None)[1] == "default"
    scheduler.shutdown()


def test_add_task_as_decorator_lists_the_task_on_the_function() -> None:
    scheduler = _scheduler()

    def fn() -> None:
        return None

    scheduler.add_task(None, "interval", seconds=1, id="deco")(fn)
    assert [task.id for task in fn.asyncz_tasks] == ["deco"]  # type: ignore[attr-defined]


def test_a_mock_is_not_taken_for_a_partial() -> None:
    from unittest.mock import MagicMock

    assert utils.is_coroutine_callable(MagicMock()) is False  # ended; it looped before


def test_a_bad_plugin_config_names_where_it_is() -> None:
    with pytest.raises(TypeError, match=r"^Expected store instance or dict for stores\['x'\]"):
        _scheduler(stores={"x": 6})


# -- tasks as asyncz shows them -----------------------------------------------------------


def test_a_pending_task_is_not_paused_and_says_so() -> None:
    scheduler = _scheduler()
    task = scheduler.add_task(_five, "date", run_at=datetime(2030, 1, 1, tzinfo=UTC), name="p")
    assert task.pending and not task.paused
    assert str(task).endswith(", pending)")
    scheduler.start(paused=True)
    scheduler.pause_task(task.id)
    assert task.paused or scheduler.get_task(task.id).paused  # type: ignore[union-attr]
    scheduler.shutdown()


def test_a_snapshot_has_asyncz_fields() -> None:
    task = Task(_five, DateTrigger(datetime(2030, 1, 1, tzinfo=UTC)), id="s")
    info = task.snapshot()
    assert (info.callable_name, info.trigger_alias, info.trigger_name) == (
        "_five",
        "date",
        "DateTrigger",
    )
    assert info.trigger_description == str(task.trigger)
    assert info.store_alias is info.store is None
    assert info.callable_reference == f"{__name__}:_five" and info.fn_reference is None
    assert info.schedule_state is TaskScheduleState.PAUSED


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_instances": 0}, "max_instances must be a positive integer."),
        ({"args": 1}, "args must be a non-string iterable."),
        ({"name": ""}, "name must be a non empty string."),
        ({"mistrigger_grace_time": 0}, "either None or a positive float/integer."),
    ],
)
def test_task_validation_uses_asyncz_wording(changes: dict[str, Any], message: str) -> None:
    task = Task(_five, DateTrigger(datetime(2030, 1, 1, tzinfo=UTC)), id="v")
    with pytest.raises(TypeError) as caught:
        task.update_task(**changes)
    assert str(caught.value).endswith(message)


# -- check_callable_args ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "message"),
    [
        (lambda x: None, [1, 2], {}, "is longer than the target callable can handle "),
        (
            lambda x: None,
            [],
            {"x": 0, "y": 1},
            "does not accept the following keyword arguments: y",
        ),
        (lambda x, y, z: None, [1], {}, "The following arguments have not been supplied: y, z"),
        (lambda x, y: None, [1, 2], {"y": 1}, "supplied in both args and kwargs: y"),
        (object.__setattr__, ["blah"], {"value": 1}, "cannot be given as keyword arguments: value"),
        (
            lambda x, *, y: None,
            [1],
            {},
            "keyword-only arguments have not been supplied in kwargs: y",
        ),
    ],
)
def test_check_callable_args_names_every_argument_at_fault(
    fn: Any, args: list[Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        utils.check_callable_args(fn, args, kwargs)


def test_check_callable_args_checks_a_wrapper_by_its_own_signature() -> None:
    import functools

    def inner() -> None:
        return None

    @functools.wraps(inner)
    def wrapper(arg: int) -> None:
        inner()

    utils.check_callable_args(wrapper, (1,), {})  # what is called is the wrapper
    with pytest.raises(ValueError, match="have not been supplied: arg"):
        utils.check_callable_args(wrapper, (), {})


# -- triggers -----------------------------------------------------------------------------


def test_trigger_reprs_read_as_asyncz_ones() -> None:
    from asyncz_like.triggers import CronTrigger, OrTrigger

    london = ZoneInfo("Europe/London")
    assert repr(DateTrigger(datetime(2022, 11, 3), london)) == (
        "<DateTrigger (run_at='2022-11-03 00:00:00 GMT')>"
    )
    interval = IntervalTrigger(seconds=1, start_at=datetime(2022, 11, 3), timezone=london)
    assert repr(interval) == (
        "<IntervalTrigger (interval=datetime.timedelta(seconds=1), "
        "start_at='2022-11-03 00:00:00 GMT', timezone='Europe/London')>"
    )
    cron = CronTrigger(month="5-8", end_at=datetime(2022, 8, 10, tzinfo=london))
    assert repr(OrTrigger([cron], jitter=5)) == (
        "<OrTrigger([<CronTrigger (month='5-8', end_at='2022-08-10 00:00:00 BST', "
        "timezone='Europe/London')>], jitter=5)>"
    )


def test_a_cron_trigger_takes_the_zone_of_its_bounds() -> None:
    from asyncz_like.triggers import CronTrigger

    start = pytz.timezone("Europe/London").localize(datetime(2022, 4, 13, 5, 30))
    trigger = CronTrigger(year=2022, hour=4, start_at=start)
    assert trigger.timezone == ZoneInfo("Europe/London")
    # 04:00 in London (BST), whatever the zone the scheduler passes
    assert trigger.get_next_trigger_time(UTC, None, start) == datetime(
        2022, 4, 14, 3, 0, tzinfo=UTC
    )
    assert CronTrigger(hour=4).timezone is None  # no bound: the scheduler's zone


def test_a_cron_value_out_of_bounds_is_explained_as_asyncz_does() -> None:
    from asyncz_like.triggers import CronTrigger

    with pytest.raises(ValueError, match=r"^Invalid hour expression '0-24'\. Error validating"):
        CronTrigger(hour="0-24")
    with pytest.raises(
        ValueError, match=r"'0-3': The first value \(0\) is lower than the minimum value \(1\)\.$"
    ):
        CronTrigger(day="0-3")


# -- AsyncIOScheduler outside any loop ----------------------------------------------------


def test_an_asyncio_scheduler_started_outside_a_loop_runs_its_own() -> None:
    import threading

    from asyncz_like.schedulers.asyncio import AsyncIOScheduler

    ran = threading.Event()
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_task(ran.set)  # no trigger: run now
    with scheduler:
        thread = scheduler.event_loop_thread
        assert thread is not None and thread.is_alive()
        assert ran.wait(10)  # nobody here runs the loop: its thread does
    assert scheduler.event_loop_thread is None and not thread.is_alive()


def test_task_events_carry_the_scheduler_identity() -> None:
    from asyncz_like.events.base import TaskEvent

    scheduler = _scheduler(identity="worker-a")
    seen: list[Any] = []
    scheduler.add_listener(seen.append)
    scheduler.start(paused=True)
    scheduler.add_task(_five, "interval", seconds=1, id="a")
    assert [event.scheduler_identity for event in seen if isinstance(event, TaskEvent)] == [
        "worker-a"
    ]
    scheduler.shutdown()


def test_a_task_that_runs_now_has_no_grace_time_by_default() -> None:
    scheduler = _scheduler()
    assert scheduler.add_task(_five).mistrigger_grace_time is None  # never missed
    later = scheduler.add_task(_five, "date", run_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert later.mistrigger_grace_time == 1.0  # task_defaults


def test_resume_task_acts_on_the_store_it_found_the_task_in() -> None:
    scheduler = _scheduler()
    scheduler.add_store(MemoryStore(), "other")
    scheduler.start(paused=True)
    scheduler.add_task(_five, "interval", seconds=1, id="a", store="other")
    scheduler.pause_task("a")
    calls: list[Any] = []
    real_update = scheduler.update_task

    def update_task(task_id: str, store: str | None = None, **changes: Any) -> Any:
        calls.append((task_id, store))
        return real_update(task_id, store, **changes)

    scheduler.update_task = update_task  # type: ignore[method-assign]
    scheduler.resume_task("a")
    assert calls == [("a", "other")]
    scheduler.shutdown()


def test_update_task_goes_through_the_task_and_always_dispatches() -> None:
    from asyncz_like.events.constants import TASK_MODIFIED

    scheduler = _scheduler()
    dispatched: list[Any] = []
    scheduler.dispatch_event = dispatched.append  # type: ignore[method-assign]
    task = scheduler.add_task(_five, "interval", seconds=1, id="a")
    scheduler.update_task("a", max_instances=2)
    assert task.max_instances == 2 and task.scheduler is scheduler
    assert [(event.code, event.store) for event in dispatched] == [(TASK_MODIFIED, None)]


def test_a_file_store_shows_its_directory(tmp_path: Any) -> None:
    from asyncz_like.stores.file import FileStore

    assert repr(FileStore(tmp_path)) == f"<FileStore (directory={tmp_path})>"


def test_jitter_never_moves_a_fire_past_end_at() -> None:
    from asyncz_like.triggers import CronTrigger

    now = datetime(2022, 11, 12, 6, 55, 30, tzinfo=UTC)
    end_at = datetime(2022, 11, 12, 6, 56, tzinfo=UTC)
    cron = CronTrigger(minute="*", jitter=5, end_at=end_at)
    interval = IntervalTrigger(seconds=20, jitter=5, start_at=now, end_at=end_at)
    for _ in range(50):
        assert cron.get_next_trigger_time(UTC, None, now) == end_at  # no room left: on time
        fire = interval.get_next_trigger_time(UTC, now, now)
        assert fire is not None and fire <= end_at


def test_reschedule_task_builds_its_trigger_with_create_trigger() -> None:
    scheduler = _scheduler()
    scheduler.trigger_classes = {"mine": _UserTrigger}
    task = scheduler.add_task(_five, "interval", seconds=1, id="a")
    scheduler.reschedule_task("a", trigger="mine", colour="red")
    assert isinstance(task.trigger, _UserTrigger) and task.trigger.colour == "red"  # type: ignore[attr-defined]
    assert task.next_run_time is None  # the trigger gives no fire
    scheduler.reschedule_task("a", trigger={"type": "interval", "seconds": 5})  # a config too
    assert isinstance(task.trigger, IntervalTrigger)


def test_task_infos_filter_search_and_sort(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, executors={"io": {"type": "debug"}})
    scheduler.start(paused=True)
    soon = clock.now() + timedelta(minutes=1)
    scheduler.add_task(print, "interval", seconds=30, id="beta", name="Beta")
    scheduler.add_task(print, "date", id="alpha", name="Alpha", executor="io", run_at=soon)
    scheduler.add_task(print, "cron", hour=8, id="gamma", name="Gamma")
    scheduler.pause_task("beta")

    def ids(**filters: Any) -> list[str]:
        return [info.id for info in scheduler.get_task_infos(**filters)]

    assert ids() == ["alpha", "gamma", "beta"]  # by next run time, the paused one last
    assert ids(schedule_state="paused") == ["beta"]
    assert ids(schedule_state=TaskScheduleState.SCHEDULED) == ["alpha", "gamma"]
    assert ids(q="ALPHA", trigger="DateTrigger", executor="io") == ["alpha"]
    assert ids(trigger="cron") == ["gamma"]
    assert ids(sort_by="name", descending=True) == ["gamma", "beta", "alpha"]
    with pytest.raises(ValueError, match="sort_by must be one of"):
        ids(sort_by="unsupported")
    with pytest.raises(ValueError, match="schedule_state must be one of"):
        ids(schedule_state="sleeping")
