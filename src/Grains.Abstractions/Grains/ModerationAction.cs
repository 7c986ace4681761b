namespace NostrRelay.Grains;

/// <summary>One change an operator makes through the NIP-86 management API.</summary>
public enum ModerationAction
{
    BanPubkey, UnbanPubkey, AllowPubkey, UnallowPubkey,
    BanEvent, UnbanEvent, AllowEvent, UnallowEvent,
    AllowKind, DisallowKind,
    BlockIp, UnblockIp,
    ChangeName, ChangeDescription, ChangeIcon,
}
