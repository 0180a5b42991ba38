"""Version 1 of the screening instrument, built on the Palermo Protocol (art. 3) and the ILO forced-labour
indicators. Instruments are data: changing the checklist means publishing a new version (issue #3), and past
screenings keep pointing at the version they were made with."""

ELEMENTS = ("act", "means", "purpose")

V1 = {
    "act": [
        {"code": "recruitment", "en": "Recruitment (job offer, promise, approach)", "es": "Captación (oferta de empleo, promesa, acercamiento)"},
        {"code": "transportation", "en": "Transportation", "es": "Transporte"},
        {"code": "transfer", "en": "Transfer of control over the person", "es": "Traslado del control sobre la persona"},
        {"code": "harbouring", "en": "Harbouring (kept in a place)", "es": "Acogida (retenida en un lugar)"},
        {"code": "receipt", "en": "Receipt of the person", "es": "Recepción de la persona"},
    ],
    "means": [
        {"code": "force", "en": "Threat or use of force, violence", "es": "Amenaza o uso de la fuerza, violencia"},
        {"code": "coercion", "en": "Other coercion (threats to family, denunciation to authorities)", "es": "Otras formas de coacción (amenazas a la familia, denuncia ante autoridades)"},
        {"code": "abduction", "en": "Abduction", "es": "Rapto"},
        {"code": "deception", "en": "Deceptive recruitment (about the job, pay, conditions)", "es": "Captación engañosa (sobre el trabajo, la paga, las condiciones)"},
        {"code": "fraud", "en": "Fraud", "es": "Fraude"},
        {"code": "abuse_of_power", "en": "Abuse of power or of a position of vulnerability", "es": "Abuso de poder o de una situación de vulnerabilidad"},
        {"code": "debt_bondage", "en": "Debt bondage or manipulated debt", "es": "Servidumbre por deudas o deuda manipulada"},
        {"code": "document_retention", "en": "Retention of identity documents", "es": "Retención de documentos de identidad"},
        {"code": "withheld_wages", "en": "Withholding of wages", "es": "Retención de salarios"},
        {"code": "isolation", "en": "Isolation, restriction of movement", "es": "Aislamiento, restricción de movimiento"},
        {"code": "payments", "en": "Payments to a person having control over the victim", "es": "Pagos a una persona que tiene autoridad sobre la víctima"},
    ],
    "purpose": [
        {"code": "sexual", "en": "Exploitation of prostitution or other sexual exploitation", "es": "Explotación de la prostitución u otras formas de explotación sexual"},
        {"code": "forced_labour", "en": "Forced labour or services", "es": "Trabajos o servicios forzados"},
        {"code": "slavery", "en": "Slavery or practices similar to slavery", "es": "Esclavitud o prácticas análogas"},
        {"code": "servitude", "en": "Servitude (including domestic servitude)", "es": "Servidumbre (incluida la doméstica)"},
        {"code": "organs", "en": "Removal of organs", "es": "Extracción de órganos"},
        {"code": "criminality", "en": "Forced criminal activity", "es": "Actividades delictivas forzadas"},
        {"code": "begging", "en": "Forced begging", "es": "Mendicidad forzada"},
        {"code": "marriage", "en": "Forced or servile marriage", "es": "Matrimonio forzado o servil"},
    ],
}
