"""The procedural face: facial action values -> pixels, one feature at a time.

Every frame of a video is drawn in one vectorized pass over (T, H, W) canonical face
coordinates, each feature only inside its bounding box. ``act`` is the (T, A) array of
action values (``config.ACTIONS``) after clipping; each ``draw_*`` paints onto a Canvas.
"""

from __future__ import annotations

import numpy as np

from curation.data.synth.config import ACTION_INDEX
from curation.data.synth.spec import Identity, VideoSpec


class Canvas:
    """(3, T, H, W) float image plus per-pixel canonical face coordinates (u, v).

    Canonical units: face half-width = 1, origin at the face centre, v points down.
    ``paint`` composites one feature inside the pixel bounding box of its canonical box."""

    def __init__(self, spec: VideoSpec):
        ident, T, H = spec.identity, spec.actions.shape[0], spec.size
        self.T, self.H = T, H
        self.img = np.empty((3, T, H, H), np.float32)
        self.img[:] = np.moveaxis(ident.background, -1, 0)[:, None]
        self.S = (ident.fw * np.exp(spec.head[:, 2])).astype(np.float32)  # (T,) px per unit
        self.cx = (ident.center[0] + spec.head[:, 0]).astype(np.float32)
        self.cy = (ident.center[1] + spec.head[:, 1]).astype(np.float32)
        self.cos = np.cos(spec.head[:, 3]).astype(np.float32)
        self.sin = np.sin(spec.head[:, 3]).astype(np.float32)
        g = np.arange(H, dtype=np.float32) + 0.5
        dx = g[None, None, :] - self.cx[:, None, None]
        dy = g[None, :, None] - self.cy[:, None, None]
        S = self.S[:, None, None]
        c, s = self.cos[:, None, None], self.sin[:, None, None]
        self.u = (c * dx + s * dy) / S
        self.v = (-s * dx + c * dy) / S
        self.px = (1.0 / self.S)[:, None, None]  # canonical units per pixel

    def box(self, u0, u1, v0, v1):
        """Pixel slices covering canonical box [u0,u1] x [v0,v1] in every frame."""
        cu = np.array([u0, u1, u0, u1], np.float32)[None]
        cv = np.array([v0, v0, v1, v1], np.float32)[None]
        S, c, s = self.S[:, None], self.cos[:, None], self.sin[:, None]
        x = self.cx[:, None] + S * (c * cu - s * cv)
        y = self.cy[:, None] + S * (s * cu + c * cv)
        x0, x1 = max(int(np.floor(x.min())) - 1, 0), min(int(np.ceil(x.max())) + 2, self.H)
        y0, y1 = max(int(np.floor(y.min())) - 1, 0), min(int(np.ceil(y.max())) + 2, self.H)
        if x0 >= x1 or y0 >= y1:
            return None
        return (slice(y0, y1), slice(x0, x1))

    def uv(self, sl):
        return self.u[:, sl[0], sl[1]], self.v[:, sl[0], sl[1]]

    def paint(self, sl, alpha, colour):
        """Composite ``colour`` ((3,) or (3, T|1, h|1, w|1)) with ``alpha`` (T, h, w)."""
        region = self.img[:, :, sl[0], sl[1]]  # a view: updated in place
        col = np.asarray(colour, np.float32)
        if col.ndim == 1:
            col = col[:, None, None, None]
        delta = col - region
        delta *= alpha
        region += delta


def edge(d, px):
    """Anti-aliased coverage from a signed distance (canonical units, > 0 inside)."""
    return np.clip(d / px + 0.5, 0.0, 1.0)


def action(a, key):
    return a[:, ACTION_INDEX[key]][:, None, None]  # (T, 1, 1)


def hair_texture(cv: Canvas) -> np.ndarray:
    """(T, H, W) brightness of hair: stripes that move with the head."""
    return 1.0 + 0.12 * np.sin(38 * cv.u + 9 * cv.v)


def jaw_drop(act: np.ndarray, spec: VideoSpec) -> np.ndarray:
    """(T, 1, 1) mouth opening: the jaw action plus speech."""
    return np.clip(action(act, "jaw") + 0.6 * spec.talk[:, None, None], 0, 1.5)


def nostril_y(ident: Identity, act: np.ndarray) -> np.ndarray:
    """(T, 1, 1) height of the nostrils, raised by the nose wrinkle."""
    return ident.nose_y - 0.05 * action(act, "nose_wrinkle")


def draw_hair(cv: Canvas, ident: Identity, hair_tex: np.ndarray) -> None:
    """Hair behind the head."""
    px, fh = cv.px, ident.aspect
    hv = ident.hair_volume
    sl = cv.box(-hv - 0.1, hv + 0.1, -fh * 1.1 - 0.3, 0.6)
    if sl:
        u, v = cv.uv(sl)
        r = np.sqrt((u / hv) ** 2 + ((v + 0.35) / (fh * 0.95)) ** 2)
        tex = hair_tex[:, sl[0], sl[1]]
        cv.paint(sl, edge((1 - r) * hv * 0.8, px) * (v < 0.5), ident.hair[:, None, None, None] * tex[None])


def draw_face(cv: Canvas, ident: Identity, jaw: np.ndarray, hair_tex: np.ndarray) -> None:
    """The face (a jaw drop lowers the chin) and the hairline over the forehead."""
    px, fh, skin = cv.px, ident.aspect, ident.skin
    sl = cv.box(-1.1, 1.1, -fh - 0.1, fh * 1.2 + 0.1)
    u, v = cv.uv(sl)
    hb = np.where(v > 0, fh * (1 + 0.1 * jaw), fh)
    r2 = u * u + (v / hb) ** 2
    shade = 1.0 - 0.18 * r2
    a_face = edge((1 - np.sqrt(r2)) * 0.9, px)
    cv.paint(sl, a_face, skin[:, None, None, None] * shade[None])
    # hairline / fringe over the forehead
    wave = 0.05 * np.sin(7 * u)
    cv.paint(sl, edge((1 - np.sqrt(r2)) * 0.9 + 0.06, px) * edge(ident.hair_top + wave - v, px),
             ident.hair[:, None, None, None] * hair_tex[None, :, sl[0], sl[1]])


def draw_cheeks(cv: Canvas, ident: Identity, act: np.ndarray) -> None:
    """A raised cheek bulges (lighter) and casts a shadow below."""
    px, skin, ex, ey = cv.px, ident.skin, ident.eye_x, ident.eye_y
    cheek = action(act, "cheek")
    sl = cv.box(-0.9, 0.9, ey, 0.6)
    u, v = cv.uv(sl)
    au = np.abs(u)
    cy = ey + 0.38 - 0.1 * cheek
    rr = np.sqrt(((au - ex - 0.05) / 0.26) ** 2 + ((v - cy) / 0.17) ** 2)
    bulge = np.clip(1 - rr * rr, 0, 1) ** 2 * np.clip(cheek, 0, 1)
    cv.paint(sl, 0.5 * bulge, np.minimum(skin * 1.15 + 10, 255))
    crescent = np.clip(1 - np.abs(rr - 1.1) / 0.2, 0, 1) * np.clip((v - cy) / 0.17, 0, 1)
    cv.paint(sl, 0.45 * crescent * np.clip(cheek, 0, 1), skin * 0.72)


def draw_eyes(cv: Canvas, spec: VideoSpec, act: np.ndarray) -> None:
    """Eyes: an almond opening between the upper and lower lid, irises, lashes."""
    ident = spec.identity
    px, skin = cv.px, ident.skin
    ex, ey, ew, eh = ident.eye_x, ident.eye_y, ident.eye_w, ident.eye_h
    cheek = action(act, "cheek")
    tight = action(act, "lid_tight")
    lid_open = action(act, "lid_open")
    b_low = action(act, "brow_lower")
    blink = spec.blink[:, None, None]
    h_up = eh * np.clip(1 + 0.9 * lid_open - 0.45 * tight - 0.15 * b_low, 0.05, 2.5) * (1 - blink)
    h_lo = eh * np.clip(1 - 0.55 * cheek - 0.45 * tight, 0.1, 1.5) * (1 - blink)
    sl = cv.box(-ex - ew - 0.1, ex + ew + 0.1, ey - 2.5 * eh - 0.1, ey + 1.6 * eh + 0.1)
    u, v = cv.uv(sl)
    du = np.abs(u) - ex
    q = np.clip(1 - (du / ew) ** 2, 0, 1)
    sq = np.sqrt(q)
    top = ey - h_up * sq
    bot = ey + h_lo * sq
    inside_x = edge(ew - np.abs(du), px)
    a_eye = np.minimum(edge(v - top, px), edge(bot - v, px)) * inside_x
    cv.paint(sl, a_eye, np.array([238, 236, 230], np.float32))
    # both irises look the same way (gaze), each centred in its own eye
    ir = np.sqrt((u - np.sign(u) * ex - spec.gaze[0]) ** 2 + (v - ey - spec.gaze[1]) ** 2)
    cv.paint(sl, a_eye * edge(0.55 * eh + 0.012 - ir, px), ident.iris)
    cv.paint(sl, a_eye * edge(0.25 * eh - ir, px), np.array([15, 12, 12], np.float32))
    # upper lid crease / lashes: a dark line along the upper lid, a fainter lower lid line
    cv.paint(sl, 0.9 * edge(0.022 + 0.01 * blink - np.abs(v - top + 0.01), px) * inside_x,
             np.array([35, 25, 25], np.float32))
    cv.paint(sl, 0.35 * edge(0.015 - np.abs(v - bot - 0.008), px) * inside_x, skin * 0.6)


def draw_brows(cv: Canvas, ident: Identity, act: np.ndarray) -> None:
    """Brows, the furrows between lowered brows, forehead lines when raised."""
    px, skin = cv.px, ident.skin
    ex, ey, ew = ident.eye_x, ident.eye_y, ident.eye_w
    b_low = action(act, "brow_lower")
    raise_ = action(act, "brow_raise")
    inner = action(act, "brow_inner")
    b0 = ey - ident.brow_gap + ident.rest_brow
    x_in = ex - ew * 0.9 - 0.07 * b_low
    x_out = ex + ew * 1.15
    sl = cv.box(-x_out - 0.15, x_out + 0.15, b0 - 0.35, b0 + 0.2)
    u, v = cv.uv(sl)
    au = np.abs(u)
    a = np.clip((au - x_in) / (x_out - x_in), 0, 1)
    arch = ident.brow_arch + 0.06 * raise_ - 0.04 * b_low
    yb = (b0 - 0.15 * raise_ + 0.09 * b_low
          - arch * 4 * a * (1 - a)
          - (0.15 * inner - 0.06 * b_low) * (1 - a) ** 1.5)
    ax = np.maximum(x_in - au, au - x_out)  # distance past the brow ends
    d = ident.brow_thick * (1 - 0.4 * a) - np.sqrt((v - yb) ** 2 + np.maximum(ax, 0) ** 2)
    cv.paint(sl, 0.92 * edge(d, px), ident.hair * 0.8)
    # vertical furrows between lowered brows
    fur = np.clip(b_low - 0.3, 0, 1) * edge(0.02 - np.abs(au - 0.06), px) * edge(0.1 - np.abs(v - b0 - 0.05), px)
    cv.paint(sl, 0.6 * fur, skin * 0.6)
    # horizontal forehead lines when brows are raised
    fl = np.clip(raise_ + 0.5 * inner - 0.3, 0, 1) * (0.5 + 0.5 * np.cos(2 * np.pi * (v - b0) / 0.07))
    fl = fl * edge(0.3 - au, px) * edge(np.minimum(v - (b0 - 0.3), (b0 - 0.12) - v), px)
    cv.paint(sl, 0.45 * fl, skin * 0.72)


def draw_nose(cv: Canvas, ident: Identity, act: np.ndarray) -> None:
    """Bridge shadow, nostrils (raised and flared by the wrinkle), bridge wrinkles."""
    px, skin, ey = cv.px, ident.skin, ident.eye_y
    wr = action(act, "nose_wrinkle")
    ny = nostril_y(ident, act)
    sl = cv.box(-0.35, 0.35, ey, ident.nose_y + 0.12)
    u, v = cv.uv(sl)
    au = np.abs(u)
    cv.paint(sl, 0.3 * edge(0.025 - np.abs(au - 0.11 - 0.1 * (v - ey)), px) * (v > ey + 0.1),
             skin * 0.75)
    nr = np.sqrt(((au - 0.08 - 0.03 * wr) / (0.055 + 0.02 * wr)) ** 2 + ((v - ny) / 0.032) ** 2)
    cv.paint(sl, edge((1 - nr) * 0.035, px), skin * 0.35)
    wl = np.clip(wr - 0.2, 0, 1) * (0.5 + 0.5 * np.cos(2 * np.pi * (v - ey) / 0.06))
    wl = wl * edge(0.17 - au, px) * edge(np.minimum(v - ey + 0.05, ey + 0.22 - v), px)
    cv.paint(sl, 0.6 * wl, skin * 0.6)


def draw_mouth(cv: Canvas, ident: Identity, act: np.ndarray, jaw: np.ndarray) -> None:
    """Lips, mouth opening and teeth, and the nasolabial folds."""
    px, skin = cv.px, ident.skin
    cheek = action(act, "cheek")
    ny = nostril_y(ident, act)
    up, down = action(act, "corner_up"), action(act, "corner_down")
    stretch, press, ulr = action(act, "lip_stretch"), action(act, "lip_press"), action(act, "upper_lip")
    my = ident.mouth_y + 0.04 * jaw
    mw = ident.mouth_w * (1 + 0.22 * up + 0.35 * stretch - 0.15 * press - 0.08 * jaw)
    cdy = ident.rest_corner - 0.13 * up + 0.12 * down - 0.02 * stretch
    opening = 0.015 + 0.3 * jaw + 0.04 * ulr - 0.015 * press
    lt = ident.lip_thick * (1 - 0.65 * np.clip(press, 0, 1))
    sl = cv.box(-0.65, 0.65, ident.mouth_y - 0.35, ident.mouth_y + 0.7)
    u, v = cv.uv(sl)
    a2 = np.clip((u / mw) ** 2, 0, 1)
    f = 1 - a2
    yu = my - 0.5 * opening * f - 0.08 * ulr * f + cdy * a2
    yl = my + 0.5 * opening * f + cdy * a2
    ins = edge(mw - np.abs(u), px)
    # nasolabial folds deepen with cheek raise, upper lip raise and smiling
    fold = np.clip(0.7 * cheek + 0.8 * ulr + 0.4 * up, 0, 1)
    au = np.abs(u)
    t = np.clip((v - (ny + 0.02)) / (my - ny + 0.06), 0, 1)
    xf = 0.16 + (mw + 0.04 - 0.16) * t
    cv.paint(sl, 0.55 * fold * edge(0.02 - np.abs(au - xf), px) * (v > ny) * (v < my + 0.08), skin * 0.62)
    cv.paint(sl, ins * np.minimum(edge(v - yu, px), edge(yl - v, px)), np.array([60, 20, 25], np.float32))
    teeth = np.minimum(edge(v - yu, px), edge(yu + 0.06 - v, px)) * edge(yl - v, px) * ins
    cv.paint(sl, 0.9 * teeth * np.clip(opening / 0.06, 0, 1), np.array([235, 232, 220], np.float32))
    fl = np.sqrt(f)
    upper = np.minimum(edge(v - (yu - lt * fl - 0.01), px), edge(yu + 0.005 - v, px)) * ins
    lower = np.minimum(edge(v - yl + 0.005, px), edge(yl + 1.2 * lt * fl + 0.01 - v, px)) * ins
    cv.paint(sl, np.maximum(upper, lower), ident.lips)
    cv.paint(sl, 0.6 * ins * edge(0.012 - np.abs(v - 0.5 * (yu + yl)), px) * (opening < 0.05), ident.lips * 0.4)


def draw_occluder(cv: Canvas, ident: Identity, o: dict) -> None:
    """A bar, hand or mask over the mouth or eyes (moves with the head) while on."""
    px = cv.px
    ex, ey, ew = ident.eye_x, ident.eye_y, ident.eye_w
    on = np.zeros((cv.T, 1, 1), np.float32)
    on[o["start"]:o["end"]] = 1.0
    if o["region"] == "mouth":
        box = (-0.7, 0.7, ident.mouth_y - 0.25, ident.mouth_y + 0.35)
    else:
        box = (-ex - ew - 0.12, ex + ew + 0.12, ey - 0.22, ey + 0.16)
    sl = cv.box(box[0] - 0.05, box[1] + 0.05, box[2] - 0.05, box[3] + 0.05)
    if sl:
        u, v = cv.uv(sl)
        d = np.minimum(np.minimum(u - box[0], box[1] - u), np.minimum(v - box[2], box[3] - v))
        alpha = edge(d, px) * on
        col = o["colour"][:, None, None, None]
        if o["style"] == "hand":
            col = col * (1 - 0.25 * (np.cos(2 * np.pi * u / 0.28) > 0.85))[None]
        elif o["style"] == "mask":
            col = col * (1 - 0.08 * (np.abs(np.cos(2 * np.pi * v / 0.12)) > 0.9))[None]
        cv.paint(sl, alpha, col)
