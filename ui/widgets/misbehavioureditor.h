#pragma once

#include "net/misbehaviour.h"

#include <QVariantMap>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QSpinBox;

namespace ws {

// Edits a Misbehaviour: what a server does wrong on purpose (delays, fragments,
// pongs, slow reading, staged closes, a bad frame, a refused or broken handshake,
// traffic it starts itself). Every field shows "off" at its default. Used by the
// server panel for the whole server and, in a dialog, for one connected client.
class MisbehaviourEditor : public QWidget {
    Q_OBJECT
public:
    explicit MisbehaviourEditor(QWidget *parent = nullptr);

    Misbehaviour misbehaviour() const;
    void setMisbehaviour(const Misbehaviour &misbehaviour);

    // The widgets, for tests.
    QSpinBox *delayMinSpin() const { return m_delayMin; }
    QSpinBox *delayMaxSpin() const { return m_delayMax; }
    QSpinBox *handshakeDelaySpin() const { return m_handshakeDelay; }
    QSpinBox *fragmentSpin() const { return m_fragment; }
    QCheckBox *pingBetweenCheck() const { return m_pingBetween; }
    QComboBox *pongCombo() const { return m_pong; }
    QSpinBox *pongDelaySpin() const { return m_pongDelay; }
    QSpinBox *readRateSpin() const { return m_readRate; }
    QSpinBox *stopReadingSpin() const { return m_stopReading; }
    QSpinBox *closeMessagesSpin() const { return m_closeMessages; }
    QSpinBox *closeMsSpin() const { return m_closeMs; }
    QComboBox *closeStyleCombo() const { return m_closeStyle; }
    QSpinBox *closeCodeSpin() const { return m_closeCode; }
    QLineEdit *closeReasonEdit() const { return m_closeReason; }
    QComboBox *badFrameCombo() const { return m_badFrame; }
    QSpinBox *badFrameAfterSpin() const { return m_badFrameAfter; }
    QSpinBox *refuseStatusSpin() const { return m_refuseStatus; }
    QLineEdit *refuseHeadersEdit() const { return m_refuseHeaders; }
    QLineEdit *refuseBodyEdit() const { return m_refuseBody; }
    QComboBox *badUpgradeCombo() const { return m_badUpgrade; }
    QSpinBox *tickerSpin() const { return m_ticker; }
    QSpinBox *burstCountSpin() const { return m_burstCount; }
    QSpinBox *burstSizeSpin() const { return m_burstSize; }

signals:
    void changed();

private:
    void updateEnabled();

    QSpinBox *m_delayMin;
    QSpinBox *m_delayMax;
    QSpinBox *m_handshakeDelay;
    QSpinBox *m_fragment;
    QCheckBox *m_pingBetween;
    QComboBox *m_pong;
    QSpinBox *m_pongDelay;
    QSpinBox *m_readRate;
    QSpinBox *m_stopReading;
    QSpinBox *m_closeMessages;
    QSpinBox *m_closeMs;
    QComboBox *m_closeStyle;
    QSpinBox *m_closeCode;
    QLineEdit *m_closeReason;
    QComboBox *m_badFrame;
    QSpinBox *m_badFrameAfter;
    QSpinBox *m_refuseStatus;
    QLineEdit *m_refuseHeaders;
    QLineEdit *m_refuseBody;
    QComboBox *m_badUpgrade;
    QSpinBox *m_ticker;
    QSpinBox *m_burstCount;
    QSpinBox *m_burstSize;
};

// A Misbehaviour as settings keep it, and back (missing keys: off).
QVariantMap misbehaviourToMap(const Misbehaviour &misbehaviour);
Misbehaviour misbehaviourFromMap(const QVariantMap &map);

} // namespace ws
