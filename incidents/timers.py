from portal import timers

from . import services


@timers.register(services.RESPONSE_TIMER)
def response_breach(timer, now) -> None:
    services.incident_record_response_breach(incident_id=timer.object_id)
