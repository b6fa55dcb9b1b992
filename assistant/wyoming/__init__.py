"""Wyoming: Home Assistant's voice protocol, served by the daemon and spoken to satellites.

    protocol.py    bounded event reading (header, data, payload limits) and writing
    engines.py     the one adapter to assistant/speech: STT, TTS and wake word from the config
    audio.py       Wyoming audio (any rate/width/channels) -> 16 kHz mono s16le, bounded buffers
    programs.py    the handlers: handle, intent, asr, tts, wake (one class each)
    info.py        the Describe -> Info answer for the enabled programs
    server.py      the TCP / unix-socket server: one session per connection
    satellite.py   a client per wyoming-satellite: pipeline on its audio, replies, announcements
    timers.py      Wyoming timer events (started/updated/cancelled/finished) from the store
    discovery.py   zeroconf `_wyoming._tcp` advertisement
    service.py     what the daemon starts and stops: all of the above on one asyncio loop

Every text goes through `Assistant.handle(Request(...))`, like MQTT and the microphone.
"""
