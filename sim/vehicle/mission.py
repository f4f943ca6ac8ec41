"""Mission storage and the MAVLink mission protocol, both directions, as ArduPilot runs them.

Pure: :meth:`MissionProtocol.handle` takes one decoded message and the link-clock time and
returns the messages to send; :meth:`MissionProtocol.tick` returns retries and timeouts. What
a client sees follows ArduPilot's ``MissionItemProtocol``:

* upload: ``MISSION_COUNT`` -> the vehicle requests item 0, 1, ... with ``MISSION_REQUEST``
  (ArduPilot's choice; ``MISSION_REQUEST_INT`` or alternating both by setting) -> the client
  answers each with ``MISSION_ITEM_INT`` (or the deprecated ``MISSION_ITEM``) -> ``MISSION_ACK``.
  A request is re-sent after 1 s without the item; after 8 s without any item the upload is
  cancelled (``MAV_MISSION_OPERATION_CANCELLED``). An item out of sequence gets
  ``MAV_MISSION_INVALID_SEQUENCE`` and the upload goes on; another system's ``MISSION_COUNT``
  during an upload gets ``MAV_MISSION_DENIED``; the same system's restarts it. An item when no
  upload is running gets ``MAV_MISSION_ERROR``. ``MISSION_COUNT`` 0 clears the list.
* download: ``MISSION_REQUEST_LIST`` -> ``MISSION_COUNT``; ``MISSION_REQUEST_INT`` ->
  ``MISSION_ITEM_INT``; ``MISSION_REQUEST`` -> ``MISSION_ITEM``; a bad seq ->
  ``MISSION_ACK`` with an error. Downloads are stateless, so retries by the client just work.
* item 0 of the mission is home: whatever was uploaded there, it is read back as the current
  home, frame ``MAV_FRAME_GLOBAL``, as ArduPilot does. Fence and rally lists are stored too.
* frames are normalised as ArduPilot stores them: ``*_INT`` frames read back as their plain
  counterparts (``GLOBAL_RELATIVE_ALT_INT`` -> ``GLOBAL_RELATIVE_ALT``); everything else in an
  item (params, coordinates, autocontinue) reads back exactly as uploaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

M = mavlink2

MAX_ITEMS = 700
REQUEST_RETRY_S = 1.0
UPLOAD_TIMEOUT_S = 8.0

MISSION, FENCE, RALLY = M.MAV_MISSION_TYPE_MISSION, M.MAV_MISSION_TYPE_FENCE, M.MAV_MISSION_TYPE_RALLY

#: Navigation commands the vehicle flies (others among SUPPORTED are stored and skipped).
NAV_COMMANDS = frozenset(
    {
        M.MAV_CMD_NAV_WAYPOINT,
        M.MAV_CMD_NAV_LOITER_UNLIM,
        M.MAV_CMD_NAV_LOITER_TURNS,
        M.MAV_CMD_NAV_LOITER_TIME,
        M.MAV_CMD_NAV_RETURN_TO_LAUNCH,
        M.MAV_CMD_NAV_LAND,
        M.MAV_CMD_NAV_TAKEOFF,
        M.MAV_CMD_NAV_SPLINE_WAYPOINT,
        M.MAV_CMD_NAV_LOITER_TO_ALT,
        M.MAV_CMD_NAV_DELAY,
        M.MAV_CMD_NAV_GUIDED_ENABLE,
        M.MAV_CMD_NAV_PAYLOAD_PLACE,
    }
)

#: Every command an item may carry (as ArduCopter's ``mavlink_int_to_mission_cmd`` accepts).
SUPPORTED_COMMANDS = NAV_COMMANDS | frozenset(
    {
        M.MAV_CMD_CONDITION_DELAY,
        M.MAV_CMD_CONDITION_DISTANCE,
        M.MAV_CMD_CONDITION_YAW,
        M.MAV_CMD_DO_JUMP,
        M.MAV_CMD_DO_CHANGE_SPEED,
        M.MAV_CMD_DO_SET_HOME,
        M.MAV_CMD_DO_SET_SERVO,
        M.MAV_CMD_DO_SET_RELAY,
        M.MAV_CMD_DO_REPEAT_SERVO,
        M.MAV_CMD_DO_REPEAT_RELAY,
        M.MAV_CMD_DO_SET_ROI,
        M.MAV_CMD_DO_SET_ROI_LOCATION,
        M.MAV_CMD_DO_SET_ROI_NONE,
        M.MAV_CMD_DO_DIGICAM_CONFIGURE,
        M.MAV_CMD_DO_DIGICAM_CONTROL,
        M.MAV_CMD_DO_MOUNT_CONTROL,
        M.MAV_CMD_DO_SET_CAM_TRIGG_DIST,
        M.MAV_CMD_DO_GRIPPER,
        M.MAV_CMD_DO_GUIDED_LIMITS,
        M.MAV_CMD_DO_LAND_START,
        M.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW,
        M.MAV_CMD_DO_WINCH,
        M.MAV_CMD_DO_FENCE_ENABLE,
        M.MAV_CMD_DO_PARACHUTE,
        M.MAV_CMD_IMAGE_START_CAPTURE,
        M.MAV_CMD_IMAGE_STOP_CAPTURE,
        M.MAV_CMD_VIDEO_START_CAPTURE,
        M.MAV_CMD_VIDEO_STOP_CAPTURE,
        M.MAV_CMD_DO_SEND_SCRIPT_MESSAGE,
        M.MAV_CMD_JUMP_TAG,
        M.MAV_CMD_DO_JUMP_TAG,
        M.MAV_CMD_STORAGE_FORMAT,
        M.MAV_CMD_NAV_FENCE_RETURN_POINT,
        M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION,
        M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION,
        M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
        M.MAV_CMD_NAV_FENCE_CIRCLE_EXCLUSION,
        M.MAV_CMD_NAV_RALLY_POINT,
    }
)

_INT_TO_PLAIN = {
    M.MAV_FRAME_GLOBAL_INT: M.MAV_FRAME_GLOBAL,
    M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT: M.MAV_FRAME_GLOBAL_RELATIVE_ALT,
    M.MAV_FRAME_GLOBAL_TERRAIN_ALT_INT: M.MAV_FRAME_GLOBAL_TERRAIN_ALT,
}
SUPPORTED_FRAMES = frozenset(
    {
        M.MAV_FRAME_GLOBAL,
        M.MAV_FRAME_GLOBAL_RELATIVE_ALT,
        M.MAV_FRAME_GLOBAL_TERRAIN_ALT,
        M.MAV_FRAME_MISSION,
        *_INT_TO_PLAIN,
    }
)
ABSOLUTE_FRAMES = frozenset({M.MAV_FRAME_GLOBAL, M.MAV_FRAME_GLOBAL_INT})


@dataclass(frozen=True)
class MissionItem:
    """One stored item; ``x``/``y`` are degrees x 1e7 (as ``MISSION_ITEM_INT``), ``z`` metres."""

    seq: int
    frame: int
    command: int
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: int = 0
    y: int = 0
    z: float = 0.0
    autocontinue: int = 1
    mission_type: int = MISSION

    @property
    def lat(self) -> float:
        return self.x / 1e7

    @property
    def lon(self) -> float:
        return self.y / 1e7

    @property
    def is_nav(self) -> bool:
        return self.command in NAV_COMMANDS

    @property
    def absolute_alt(self) -> bool:
        """``z`` is metres AMSL (else above home; terrain frames are treated as above home)."""
        return self.frame in ABSOLUTE_FRAMES

    @classmethod
    def from_msg(cls, msg) -> MissionItem:
        """From a ``MISSION_ITEM_INT`` or ``MISSION_ITEM`` (degrees converted to 1e7)."""
        if msg.get_type() == "MISSION_ITEM":
            x, y = round(msg.x * 1e7), round(msg.y * 1e7)
        else:
            x, y = int(msg.x), int(msg.y)
        return cls(
            seq=msg.seq,
            frame=_INT_TO_PLAIN.get(msg.frame, msg.frame),
            command=msg.command,
            param1=msg.param1,
            param2=msg.param2,
            param3=msg.param3,
            param4=msg.param4,
            x=x,
            y=y,
            z=msg.z,
            autocontinue=msg.autocontinue,
            mission_type=getattr(msg, "mission_type", MISSION),
        )

    def validate(self) -> int:
        """``MAV_MISSION_ACCEPTED`` or the ``MAV_MISSION_RESULT`` ArduPilot would answer."""
        if self.command not in SUPPORTED_COMMANDS:
            return M.MAV_MISSION_UNSUPPORTED
        if self.frame not in SUPPORTED_FRAMES:
            return M.MAV_MISSION_UNSUPPORTED_FRAME
        if self.frame != M.MAV_FRAME_MISSION:
            if not -90e7 <= self.x <= 90e7:
                return M.MAV_MISSION_INVALID_PARAM5_X
            if not -180e7 <= self.y <= 180e7:
                return M.MAV_MISSION_INVALID_PARAM6_Y
        return M.MAV_MISSION_ACCEPTED

    def to_item_int(self, target_system: int, target_component: int, current: int = 0):
        return M.MAVLink_mission_item_int_message(
            target_system, target_component, self.seq, self.frame, self.command, current,
            self.autocontinue, self.param1, self.param2, self.param3, self.param4,
            self.x, self.y, self.z, self.mission_type,
        )  # fmt: skip

    def to_item(self, target_system: int, target_component: int, current: int = 0):
        return M.MAVLink_mission_item_message(
            target_system, target_component, self.seq, self.frame, self.command, current,
            self.autocontinue, self.param1, self.param2, self.param3, self.param4,
            self.x / 1e7, self.y / 1e7, self.z, self.mission_type,
        )  # fmt: skip


class MissionStore:
    """The vehicle's mission, fence and rally lists. Item 0 of the mission always reads as home."""

    def __init__(self, home: tuple[float, float, float]) -> None:
        self.home = home  # lat, lon, alt AMSL
        self._lists: dict[int, list[MissionItem]] = {MISSION: [], FENCE: [], RALLY: []}
        self.revisions = dict.fromkeys(self._lists, 0)  # each list's changes, for caches of it

    @property
    def version(self) -> int:
        """Bumped on every change of the mission list (its revision)."""
        return self.revisions[MISSION]

    def supports(self, mission_type: int) -> bool:
        return mission_type in self._lists

    def count(self, mission_type: int = MISSION) -> int:
        n = len(self._lists[mission_type])
        return max(1, n) if mission_type == MISSION else n

    def home_item(self) -> MissionItem:
        lat, lon, alt = self.home
        return MissionItem(
            0, M.MAV_FRAME_GLOBAL, M.MAV_CMD_NAV_WAYPOINT, x=round(lat * 1e7), y=round(lon * 1e7), z=alt
        )

    def get(self, seq: int, mission_type: int = MISSION) -> MissionItem | None:
        if mission_type == MISSION and seq == 0:
            return self.home_item()
        items = self._lists[mission_type]
        return items[seq] if 0 <= seq < len(items) else None

    def items(self, mission_type: int = MISSION) -> list[MissionItem]:
        """All items; the mission's item 0 is home."""
        return [it for i in range(self.count(mission_type)) if (it := self.get(i, mission_type))]

    def replace(self, mission_type: int, items: list[MissionItem]) -> None:
        self._lists[mission_type] = [
            replace(it, seq=i, mission_type=mission_type) for i, it in enumerate(items)
        ]
        self.revisions[mission_type] += 1

    def clear(self, mission_type: int) -> None:
        self.replace(mission_type, [])


RequestMode = Literal["request", "request_int", "alternate"]


@dataclass
class _Upload:
    mission_type: int
    sysid: int
    compid: int
    count: int
    items: list[MissionItem]
    last_receive: float
    last_request: float

    @property
    def next_seq(self) -> int:
        return len(self.items)


class MissionProtocol:
    """The upload/download state machines over one :class:`MissionStore`."""

    def __init__(
        self,
        store: MissionStore,
        *,
        request_mode: RequestMode = "request",
        can_clear: Callable[[], bool] = lambda: True,
        on_change: Callable[[int], None] = lambda _t: None,
        on_guided_item: Callable[[MissionItem], bool] | None = None,
        texts: Callable[[int, str], None] = lambda _s, _t: None,
    ) -> None:
        self.store = store
        self.request_mode: RequestMode = request_mode
        self.can_clear = can_clear
        self.on_change = on_change
        self.on_guided_item = on_guided_item
        self.texts = texts
        self.upload: _Upload | None = None
        self._warned_float_item = False
        self.stats = {"uploads": 0, "downloads": 0, "request_retries": 0, "upload_timeouts": 0}

    @property
    def receiving(self) -> bool:
        return self.upload is not None

    # --- dispatch -----------------------------------------------------------------------------

    def handle(self, msg, now: float) -> list:
        t = msg.get_type()
        h = getattr(self, "_on_" + t.lower(), None)
        return h(msg, now) if h is not None else []

    def tick(self, now: float) -> list:
        """Re-send the pending request after 1 s; cancel an upload silent for 8 s."""
        up = self.upload
        if up is None:
            return []
        if now - up.last_receive > UPLOAD_TIMEOUT_S:
            self.upload = None
            self.stats["upload_timeouts"] += 1
            return [
                M.MAVLink_mission_ack_message(
                    up.sysid, up.compid, M.MAV_MISSION_OPERATION_CANCELLED, up.mission_type
                )
            ]
        if now - up.last_request > REQUEST_RETRY_S:
            self.stats["request_retries"] += 1
            return [self._request(up, now)]
        return []

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _ack(msg, result: int, mission_type: int) -> object:
        return M.MAVLink_mission_ack_message(
            msg.get_srcSystem(), msg.get_srcComponent(), result, mission_type
        )

    def _request(self, up: _Upload, now: float):
        up.last_request = now
        seq = up.next_seq
        use_int = self.request_mode == "request_int" or (self.request_mode == "alternate" and seq % 2 == 0)
        cls = M.MAVLink_mission_request_int_message if use_int else M.MAVLink_mission_request_message
        return cls(up.sysid, up.compid, seq, up.mission_type)

    # --- upload -------------------------------------------------------------------------------

    def _on_mission_count(self, msg, now: float) -> list:
        mt = getattr(msg, "mission_type", MISSION)
        if not self.store.supports(mt):
            return [self._ack(msg, M.MAV_MISSION_UNSUPPORTED, mt)]
        src = (msg.get_srcSystem(), msg.get_srcComponent())
        if self.upload is not None and (self.upload.sysid, self.upload.compid) != src:
            return [self._ack(msg, M.MAV_MISSION_DENIED, mt)]
        self.upload = None
        if msg.count > MAX_ITEMS:
            self.texts(M.MAV_SEVERITY_WARNING, f"Only {MAX_ITEMS} items are supported")
            return [self._ack(msg, M.MAV_MISSION_NO_SPACE, mt)]
        if msg.count == 0:
            if mt == MISSION and not self.can_clear():
                return [self._ack(msg, M.MAV_MISSION_ERROR, mt)]
            self.store.clear(mt)
            self.on_change(mt)
            return [self._ack(msg, M.MAV_MISSION_ACCEPTED, mt)]
        self.upload = _Upload(mt, src[0], src[1], msg.count, [], now, now)
        return [self._request(self.upload, now)]

    def _on_mission_item(self, msg, now: float) -> list:
        if not self._warned_float_item:
            self._warned_float_item = True
            self.texts(M.MAV_SEVERITY_WARNING, "got MISSION_ITEM; GCS should send MISSION_ITEM_INT")
        return self._item(msg, now)

    def _on_mission_item_int(self, msg, now: float) -> list:
        return self._item(msg, now)

    def _item(self, msg, now: float) -> list:
        item = MissionItem.from_msg(msg)
        mt = item.mission_type
        if mt == MISSION and msg.current in (2, 3):
            # GUIDED "fly to here" (2) or altitude change (3), outside any upload
            ok = self.on_guided_item is not None and self.on_guided_item(item)
            return [self._ack(msg, M.MAV_MISSION_ACCEPTED if ok else M.MAV_MISSION_ERROR, mt)]
        if not self.store.supports(mt):
            return [self._ack(msg, M.MAV_MISSION_UNSUPPORTED, mt)]
        up = self.upload
        if up is None or up.mission_type != mt:
            return [self._ack(msg, M.MAV_MISSION_ERROR, mt)]
        if item.seq != up.next_seq:
            return [self._ack(msg, M.MAV_MISSION_INVALID_SEQUENCE, mt)]
        if (msg.get_srcSystem(), msg.get_srcComponent()) != (up.sysid, up.compid):
            return [self._ack(msg, M.MAV_MISSION_DENIED, mt)]
        result = item.validate()
        if result != M.MAV_MISSION_ACCEPTED:
            self.upload = None
            return [self._ack(msg, result, mt)]
        up.items.append(item)
        up.last_receive = now
        if up.next_seq >= up.count:
            self.upload = None
            self.store.replace(mt, up.items)
            self.stats["uploads"] += 1
            self.on_change(mt)
            return [self._ack(msg, M.MAV_MISSION_ACCEPTED, mt)]
        return [self._request(up, now)]

    def _on_mission_ack(self, msg, now: float) -> list:
        # the end of a download, or a client giving up on its upload
        up = self.upload
        if (
            up is not None
            and (msg.get_srcSystem(), msg.get_srcComponent()) == (up.sysid, up.compid)
            and msg.type != M.MAV_MISSION_ACCEPTED
        ):
            self.upload = None
        else:
            self.stats["downloads"] += 1
        return []

    # --- download -----------------------------------------------------------------------------

    def _on_mission_request_list(self, msg, now: float) -> list:
        mt = getattr(msg, "mission_type", MISSION)
        if not self.store.supports(mt):
            return [self._ack(msg, M.MAV_MISSION_UNSUPPORTED, mt)]
        if self.upload is not None:
            return [self._ack(msg, M.MAV_MISSION_DENIED, mt)]
        return [
            M.MAVLink_mission_count_message(
                msg.get_srcSystem(), msg.get_srcComponent(), self.store.count(mt), mt
            )
        ]

    def _get(self, msg) -> tuple[MissionItem | None, list]:
        mt = getattr(msg, "mission_type", MISSION)
        if not self.store.supports(mt):
            return None, [self._ack(msg, M.MAV_MISSION_UNSUPPORTED, mt)]
        if self.upload is not None:
            return None, [self._ack(msg, M.MAV_MISSION_DENIED, mt)]
        item = self.store.get(msg.seq, mt)
        if item is None:
            return None, [self._ack(msg, M.MAV_MISSION_INVALID_SEQUENCE, mt)]
        return item, []

    def _on_mission_request_int(self, msg, now: float) -> list:
        item, err = self._get(msg)
        if item is None:
            return err
        return [item.to_item_int(msg.get_srcSystem(), msg.get_srcComponent())]

    def _on_mission_request(self, msg, now: float) -> list:
        item, err = self._get(msg)
        if item is None:
            return err
        return [item.to_item(msg.get_srcSystem(), msg.get_srcComponent())]

    # --- clear --------------------------------------------------------------------------------

    def _on_mission_clear_all(self, msg, now: float) -> list:
        mt = getattr(msg, "mission_type", MISSION)
        types = [MISSION, FENCE, RALLY] if mt == M.MAV_MISSION_TYPE_ALL else [mt]
        if not all(self.store.supports(x) for x in types):
            return [self._ack(msg, M.MAV_MISSION_UNSUPPORTED, mt)]
        if self.upload is not None or (MISSION in types and not self.can_clear()):
            return [self._ack(msg, M.MAV_MISSION_ERROR, mt)]
        for x in types:
            self.store.clear(x)
            self.on_change(x)
        return [self._ack(msg, M.MAV_MISSION_ACCEPTED, mt)]
