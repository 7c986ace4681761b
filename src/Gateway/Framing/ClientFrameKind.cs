namespace NostrRelay.Framing;

internal enum ClientFrameKind { Malformed, Event, Req, Close, Count, Auth, NegentropyOpen, NegentropyMessage, NegentropyClose, Unknown }
