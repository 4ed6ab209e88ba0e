"""Small Spanish, French and English fixtures written for these tests (fictional)."""

SPANISH_FG = """TALENTO HUMANO BOGOTÁ
MODERADORA: Buenas tardes a todas. ¿Cómo les ha parecido el programa de visitas a las familias?
PARTICIPANTE 1: A mí me parece que las visitas ayudaron mucho, la promotora llega a la casa y nos explica cómo preparar la comida de los niños.
PARTICIPANTE 2: Sí.
PARTICIPANTE 3: Para nosotras el problema es el transporte, el centro de salud queda muy lejos y el bus cuesta demasiado dinero.
PARTICIPANTE 2: Yo estoy de acuerdo, muchas veces no tenemos plata para el pasaje y entonces no vamos a los controles.
MODERADORA: ¿Y qué piensan de la comunicación con el personal de salud?
PARTICIPANTE 1: La enfermera es muy amable, escucha nuestras preocupaciones y nos tiene paciencia cuando preguntamos.
PARTICIPANTE 3: Con el médico es diferente, siempre tiene prisa y no explica nada, uno sale con más dudas.
PARTICIPANTE 2: Ok.
PARTICIPANTE 1: Al final aprendimos sobre la lactancia materna y sobre la alimentación complementaria con frutas y verduras.
Fin de la grabación
"""

SPANISH_CODEBOOK = """codes:
  - name: Costo del transporte
    definition: el transporte al centro de salud cuesta demasiado dinero, no hay plata para el bus
  - name: Confianza en el personal
    definition: la enfermera o el médico escucha, explica y tiene paciencia con las familias
  - name: Alimentación
    definition: preparar la comida de los niños, lactancia materna, frutas y verduras
"""

ENGLISH_FG = """MODERATOR: Good afternoon. How did you find the home visiting programme?
PARTICIPANT 1: The visits helped a lot, the health worker comes to the house and explains how to prepare food for the children.
PARTICIPANT 2: Yes.
PARTICIPANT 3: For us the problem is transport, the clinic is very far and the bus costs too much money.
MODERATOR: And what about talking with the clinic staff?
PARTICIPANT 1: The nurse is very kind, she listens to our worries and is patient when we ask questions.
PARTICIPANT 2: Ok.
"""

ENGLISH_CODEBOOK = """codes:
  - name: Transport cost
    definition: the bus to the clinic costs too much money, no money for transport
  - name: Trust in staff
    definition: the nurse or doctor listens, explains and is patient with families
  - name: Feeding
    definition: preparing food for the children, breastfeeding, fruit and vegetables
"""

# a survey whose rows are in two languages: English answers, and French ones
SURVEY_CSV = """id,answer
1,The nurse explained everything clearly and kindly
2,We had no money for the bus to the clinic
3,ok
4,The cooking demonstrations taught us about vegetables
5,L'infirmière a tout expliqué clairement et gentiment
6,Nous n'avions pas d'argent pour le bus jusqu'au centre
7,Les démonstrations de cuisine nous ont appris les légumes
8,My husband did not agree with the advice at first
"""
