"""The first value of a field of /proc/cpuinfo ("model name", "cpu family", ...)."""


def field(name: str, default: str = "unknown") -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":", 1)[0].strip() == name:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return default
