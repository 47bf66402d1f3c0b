"""A timer that can also be woken.

Work a timer tick usually starts (notify's courier trying due deliveries)
starts at once when the code that made it due says so; the tick stays as
the safety net for work made due by time passing or by another instance.

    courier_wakeup = Wakeup()

    @wakeable_timer(interval=0.5, wakeup="courier_wakeup", setting="COURIER_TICK_SECONDS")
    def deliver_due(self): ...

    def handler(self, ...):
        ...                          # something became due
        self.courier_wakeup.wake()

The entrypoint fires `interval` seconds after its last run ends, or as soon
as it is woken, whichever comes first. Like nameko's timer it never runs
twice at once; wakes that come while it runs are folded into one more run
right after, so none is lost and a burst of them costs one run. A wake
reaches this process's timer only: the instance that made work due does it.
"""
from eventlet.queue import Empty, Full, LightQueue
from nameko.extensions import DependencyProvider
from nameko.timer import Timer


class Wakeup(DependencyProvider):
    """The flag a worker raises; `wake()` costs nothing when already raised."""

    def __init__(self):
        self._flag: LightQueue = LightQueue(maxsize=1)

    def get_dependency(self, worker_ctx):
        return self

    def wake(self):
        if self._flag.empty():
            try:
                self._flag.put_nowait(True)
            except Full:   # raised meanwhile by another worker: one is enough
                pass

    def wait(self, timeout):
        """True when woken, False when `timeout` seconds passed first."""
        try:
            return self._flag.get(timeout=timeout)
        except Empty:
            return False


class WakeableTimer(Timer):
    def __init__(self, interval, wakeup, setting=None, **kwargs):
        self.wakeup_name = wakeup
        self.setting = setting    # a config key that may set the interval
        super().__init__(interval, **kwargs)

    def setup(self):
        if self.setting and self.container.config.get(self.setting):
            self.interval = float(self.container.config[self.setting])

    def _wakeup(self) -> Wakeup:
        return next(d for d in self.container.dependencies
                    if isinstance(d, Wakeup) and d.attr_name == self.wakeup_name)

    def stop(self):
        self.should_stop.send(True)
        self._wakeup().wake()      # out of its wait now, not after the interval
        self.gt.wait()

    def _run(self):
        wakeup = self._wakeup()
        while True:
            wakeup.wait(self.interval)
            if self.should_stop.ready():
                break
            self.handle_timer_tick()
            self.worker_complete.wait()
            self.worker_complete.reset()


wakeable_timer = WakeableTimer.decorator
