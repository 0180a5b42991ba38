"""Synthetic names for the benchmark: Spanish-speaking (Venezuelan, Colombian, Dominican), English-speaking and
Indo-Trinidadian names as met in Trinidad and Tobago, in rough order of frequency (earlier = commoner). Every
combination is fictional; any resemblance to a real person is chance."""

from __future__ import annotations

SPANISH_FEMALE = """
María Ana Carmen Luisa Rosa Isabel Daniela Gabriela Valentina Andrea Mariana Carolina Fernanda Paola Alejandra
Sofía Camila Victoria Natalia Patricia Yolanda Beatriz Lucía Elena Marisol Yessenia Yuleisy Génesis Dayana
Milagros Esperanza Guadalupe Adriana Claudia Verónica Mónica Gloria Josefina Teresa Margarita Rocío Pilar
Ximena Jimena Luz Estefanía Karina Yelitza Zulay Nayeli Belkis Yusmary Keila Ángela Lorena Maritza Xiomara
Inés Consuelo Dolores Mercedes Raquel Silvia Susana Noemí Itzel Yaneth Wendy Johana Leidy Yulimar Anyelis
""".split()
SPANISH_MALE = """
José Juan Luis Carlos Jesús Miguel Pedro Jorge Manuel Antonio Francisco Rafael Alejandro Andrés Diego David
Daniel Fernando Ricardo Eduardo Javier Roberto Héctor Óscar Raúl Sergio Víctor Gustavo Alberto Enrique Ramón
Guillermo Ernesto Wilmer Yonaiker Jhonny Deivis Yorman Kelvin Leonel Rubén Julio César Hugo Iván Gerardo
Orlando Nelson Freddy Arturo Mauricio Esteban Santiago Mateo Sebastián Tomás Ignacio Rodrigo Joel Elías Ángel
""".split()
SPANISH_FAMILY = """
González Rodríguez Pérez Hernández García Martínez López Sánchez Ramírez Díaz Torres Rojas Flores Morales
Gómez Romero Vargas Castillo Álvarez Jiménez Mendoza Gutiérrez Ruiz Chávez Herrera Medina Aguilar Castro
Ortiz Rivas Silva Suárez Núñez Ramos Guerrero Blanco Molina Delgado Contreras Vásquez Figueroa Carrasco
Paredes Salazar Quintero Zambrano Bolívar Marcano Rondón Briceño Villalobos Urdaneta Peña Cabrera Acosta
Fuentes Sandoval Espinoza Campos Cordero Valencia Bermúdez Montilla Zapata Osorio Cárdenas Gil Montes Ochoa
Lozano Ibarra Escobar Rincón Pineda Villegas Arias Parra Guzmán Beltrán Benítez Cedeño Colmenares Yépez Ávila
Barrios Bravo Cuevas Duarte Estrada Franco Galindo Guevara Ledezma Maldonado Mejía Miranda Muñoz Navarro Olivo
""".split()
ENGLISH_FEMALE = """
Jennifer Michelle Nicole Sarah Lisa Karen Sharon Patricia Angela Kimberly Stephanie Melissa Elizabeth Natasha
Keisha Shanice Tamika Kerry-Ann Simone Abigail Charlene Marcia Sandra Donna Yvonne Beverly Jacqueline Allison
Gillian Candice Crystal Danielle Felicia Janelle Kristal Latoya Monique Nadine Rochelle Shelly-Ann Tricia Vanessa
Catherine Katherine Kathryn Anne Grace Hannah Emily Jessica Rachel Deborah Rebecca Ruth Esther Joy Faith Hope
""".split()
ENGLISH_MALE = """
Michael Christopher David Anthony Kevin Mark Richard Robert Brian Jason Darren Sean Marlon Kerwin Curtis
Dwayne Anderson Shane Ryan Andre Keith Wayne Clive Trevor Roger Gerard Nigel Kirk Junior Akil Jabari Kwame
Stephen Steven Peter Paul John James William Thomas Joseph Charles George Edward Henry Arthur Albert Frederick
Matthew Andrew Nicholas Jonathan Timothy Patrick Dexter Desmond Winston Lennox Selwyn Carlyle Ricardo Terrence
""".split()
ENGLISH_FAMILY = """
Williams Joseph Charles Thomas John Mohammed Ali Khan Baptiste Phillip Alexander George Samuel Roberts Lewis
Smith Brown Jones Johnson Thompson Walker Scott Clarke Jackson Henry Francis James Edwards Richardson Daniel
Pierre Noel Mitchell Bailey Campbell Cummings Gordon Hamilton Harris Hinds Hosein Jacob Lee Martin Moore Nelson
Ollivierre Peters Regis Ramsey Simmons Sylvester Taylor Wilson Young Greene Antoine Bishop Caesar Cooper Dyer
Fraser Gill Grant Hunte Isaac Joefield Kirton Lashley McDonald McIntosh O'Brien O'Neil Richards Sealy Skeete
Smyth Stewart Wallace Warner Wright Yearwood Abraham Benjamin Caton Douglas Elliott Farrell Garcia Harper
""".split()
INDO_GIVEN_FEMALE = """
Sita Radha Anita Sunita Geeta Indira Savitri Kamla Shanti Padma Vidya Nalini Sharda Rekha Asha Priya Aisha Fatima
Nafeesa Zorida Shabana Rookmin Bhagwandaye Chandra Leela Vashti Drupatie Rajwantie Kavita Anjali
""".split()
INDO_GIVEN_MALE = """
Ramesh Suresh Rajesh Anil Sunil Vijay Ravi Krishna Deonarine Ramdath Harripersad Rakesh Mukesh Dinesh Vishnu
Mohammed Mohamed Mohammad Ahmed Hassan Hussein Imran Faisal Rasheed Shazad Nazim Riaz Kamal Jameel Tariq
""".split()
INDO_FAMILY = """
Maharaj Persad Ramdass Singh Ramkissoon Rampersad Seepersad Ramoutar Boodram Ramlal Ragoonath Mohammed Ali Khan
Hosein Baksh Mohan Ramnarine Sookdeo Dookhan Gopaul Jaggernauth Lalla Nanan Ramsaran Samaroo Sankar Sooknanan
Balroop Bissoon Harripersad Jaikaran Mahabir Ramjattan Ramsingh Rambharose Seecharan Teelucksingh Rahaman
""".split()

# Nicknames and other names people are known by (aliases).
NICKNAMES = [
    "La Flaca", "La Negra", "El Gordo", "El Chino", "La Mona", "Chiqui", "Nena", "Pelusa", "Gordito", "Flaquita",
    "Morena", "Catira", "Majo", "Pepe", "Paco", "Lupe", "Chela", "Tito", "Toto", "Kiki", "Lulu", "Boss", "Shorty",
    "Red", "Slim", "Dread", "Smallie", "Tallboy", "Doux-Doux", "Sweetness", "Princess",
]

NATIONALITIES = {
    "spanish": [("VE", 70), ("CO", 14), ("DO", 6), ("CU", 4), ("MX", 3), ("EC", 3)],
    "english": [("TT", 80), ("GY", 8), ("JM", 5), ("VC", 3), ("GD", 2), ("BB", 2)],
    "indo": [("TT", 88), ("GY", 10), ("IN", 2)],
}
