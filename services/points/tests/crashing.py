"""The points service that dies by SIGKILL the first time it has written an award and
not yet committed it (for test_crash_interface.py)."""

import os
import signal

from services.points.service import PointsService


class CrashingPointsService(PointsService):
    def _award_posted(self, award, session):
        marker = os.environ["POINTS_CRASH_MARKER"]
        if not os.path.exists(marker):
            with open(marker, "w") as f:  # the event, and the session left open
                f.write(award["event_id"] + "\n" + session.session_id["id"].hex())
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9, mid-transaction
