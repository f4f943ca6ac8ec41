"""Network defaults shared by every component, so a port is spelled in one place (and the one
format of the components' structured log lines)."""

#: ArduPilot SITL serves its first serial port as a TCP server on this port.
SITL_TCP_PORT = 5760
#: ArduPilot SITL (and ``sim_vehicle.py``) sends MAVLink out to a GCS on this UDP port.
GCS_UDP_PORT = 14550
GCS_UDP_HOST = "127.0.0.1"

MQTT_HOST = "127.0.0.1"
MQTT_PORT = 1883

CLOUD_HOST = "127.0.0.1"
CLOUD_PORT = 8080

#: Default home of the simulated vehicle: on the Shenzhen River, Futian district.
HOME_LAT = 22.5205
HOME_LON = 114.0632
HOME_ALT_MSL = 5.0
